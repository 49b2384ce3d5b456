// /openapi/v2 as an empty document. kubectl validates objects against it before it sends them
// (`--validate`, on by default) and refuses to go on when the document cannot be fetched; a
// document without definitions makes it skip schema validation for every kind, as it does for
// a kind the server does not describe. kubectl up to about 1.26 accepts only the protobuf form
// (gnostic `openapi_v2.Document`), so both encodings are served. /openapi/v3 stays 404, which
// newer kubectl reads as "no v3 here" and falls back to v2.

const PROTOBUF_TYPE = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

export const OPENAPI_V2_JSON = {
  swagger: '2.0',
  info: { title: 'Kubernetes', version: 'v1.30.0' },
  paths: {},
  definitions: {},
};

/** A protobuf length-delimited field: key (field number, wire type 2), varint length, bytes. */
function field(number: number, payload: Buffer): Buffer {
  const length: number[] = [];
  let n = payload.length;
  do {
    length.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Buffer.concat([Buffer.from([(number << 3) | 2, ...length]), payload]);
}

// gnostic openapi_v2.proto: Document{swagger=1, info=2, paths=8}; Info{title=1, version=2}.
const OPENAPI_V2_PROTOBUF = Buffer.concat([
  field(1, Buffer.from(OPENAPI_V2_JSON.swagger)),
  field(
    2,
    Buffer.concat([
      field(1, Buffer.from(OPENAPI_V2_JSON.info.title)),
      field(2, Buffer.from(OPENAPI_V2_JSON.info.version)),
    ]),
  ),
  field(8, Buffer.alloc(0)),
]);

/** Picks the encoding the Accept header prefers; protobuf only when it is asked for by name. */
export function openApiV2(accept: string | undefined): { contentType: string; body: Buffer } {
  // kube-openapi answers protobuf as application/octet-stream: Go's mime parser rejects the '@'.
  if (accept?.includes(PROTOBUF_TYPE) === true) {
    return { contentType: 'application/octet-stream', body: OPENAPI_V2_PROTOBUF };
  }
  return { contentType: 'application/json', body: Buffer.from(JSON.stringify(OPENAPI_V2_JSON)) };
}
