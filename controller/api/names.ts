// Kubernetes name rules with Kubernetes' own messages (k8s.io/apimachinery pkg/util/validation),
// because Knative embeds them verbatim in its FieldErrors ("not a DNS 1035 label: [...]"), and
// Knative's kmeta.ChildName for revision names.

const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const DNS1035_LABEL = new RegExp(`^${DNS1035_LABEL_FMT}$`);
const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_LABEL = new RegExp(`^${DNS1123_LABEL_FMT}$`);
const QUALIFIED_NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const QUALIFIED_NAME = new RegExp(`^${QUALIFIED_NAME_FMT}$`);

/** Longest DNS label, and so the longest Service, revision or tag name (RFC 1035). */
export const DNS_LABEL_MAX_LENGTH = 63;

function maxLenError(length: number): string {
  return `must be no more than ${length} characters`;
}

/** Kubernetes RegexError(), including its double space before "or". */
function regexError(msg: string, fmt: string, ...examples: readonly string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${fmt}')`;
}

/** validation.IsDNS1035Label: [] when valid. */
export function isDNS1035Label(value: string): readonly string[] {
  const errs: string[] = [];
  if (value.length > DNS_LABEL_MAX_LENGTH) errs.push(maxLenError(DNS_LABEL_MAX_LENGTH));
  if (!DNS1035_LABEL.test(value)) {
    errs.push(
      regexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        DNS1035_LABEL_FMT,
        'my-name',
        'abc-123',
      ),
    );
  }
  return errs;
}

/** validation.IsDNS1123Label (namespaces): [] when valid. */
export function isDNS1123Label(value: string): readonly string[] {
  const errs: string[] = [];
  if (value.length > DNS_LABEL_MAX_LENGTH) errs.push(maxLenError(DNS_LABEL_MAX_LENGTH));
  if (!DNS1123_LABEL.test(value)) {
    errs.push(
      regexError(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
        DNS1123_LABEL_FMT,
        'my-name',
        '123-abc',
      ),
    );
  }
  return errs;
}

/** validation.IsQualifiedName without the optional `prefix/` part (revision names never have one). */
export function isQualifiedName(value: string): readonly string[] {
  const errs: string[] = [];
  if (value.length === 0) return ['name part must be non-empty'];
  if (value.length > DNS_LABEL_MAX_LENGTH) errs.push(`name part ${maxLenError(DNS_LABEL_MAX_LENGTH)}`);
  if (!QUALIFIED_NAME.test(value)) {
    errs.push(
      regexError(
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        QUALIFIED_NAME_FMT,
        'MyName',
        'my.name',
        '123-abc',
      ),
    );
  }
  return errs;
}

/** Go's fmt.Sprint of a []string: `[a b]`. Knative prints the k8s messages that way. */
export function goStringSlice(values: readonly string[]): string {
  return `[${values.join(' ')}]`;
}

/**
 * Knative kmeta.ChildName: `parent + suffix`, or, when that exceeds 63 characters, the first
 * `31 - len(suffix)` characters of the parent, the md5 of the whole parent in hex, then the suffix.
 * E.g. a 60-character Service gets revisions `<25 chars><32 hex>-00001` (63 characters).
 * pre: suffix.length < 31 (ours is `-NNNNN`).
 */
export function childName(parent: string, suffix: string): string {
  const head = DNS_LABEL_MAX_LENGTH - 32;
  if (parent.length <= DNS_LABEL_MAX_LENGTH - suffix.length) return parent + suffix;
  return `${parent.slice(0, head - suffix.length)}${md5Hex(parent)}${suffix}`;
}

// MD5 (RFC 1321) over the UTF-8 bytes of a string. Only for kmeta.ChildName compatibility, never
// for security; written here because pure code may not import node:crypto.
const MD5_SHIFTS = [
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9,
  14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15,
  21, 6, 10, 15, 21,
];
const MD5_K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);

export function md5Hex(text: string): string {
  const input = new TextEncoder().encode(text);
  const paddedLength = (((input.length + 8) >>> 6) + 1) << 6;
  const bytes = new Uint8Array(paddedLength);
  bytes.set(input);
  bytes[input.length] = 0x80;
  const bitLength = input.length * 8;
  const view = new DataView(bytes.buffer);
  view.setUint32(paddedLength - 8, bitLength >>> 0, true);
  view.setUint32(paddedLength - 4, Math.floor(bitLength / 2 ** 32), true);

  let a0 = 0x67452301;
  let b0 = 0xefcdab89;
  let c0 = 0x98badcfe;
  let d0 = 0x10325476;
  const m = new Uint32Array(16);
  for (let offset = 0; offset < paddedLength; offset += 64) {
    for (let j = 0; j < 16; j++) m[j] = view.getUint32(offset + j * 4, true);
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) % 16;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) % 16;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) % 16;
      }
      const sum = (a + f + (MD5_K[i] ?? 0) + (m[g] ?? 0)) >>> 0;
      const s = MD5_SHIFTS[i] ?? 0;
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << s) | (sum >>> (32 - s)))) >>> 0;
    }
    a0 = (a0 + a) >>> 0;
    b0 = (b0 + b) >>> 0;
    c0 = (c0 + c) >>> 0;
    d0 = (d0 + d) >>> 0;
  }
  const out = new DataView(new ArrayBuffer(16));
  out.setUint32(0, a0, true);
  out.setUint32(4, b0, true);
  out.setUint32(8, c0, true);
  out.setUint32(12, d0, true);
  let hex = '';
  for (let i = 0; i < 16; i++) hex += out.getUint8(i).toString(16).padStart(2, '0');
  return hex;
}
