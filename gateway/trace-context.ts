// W3C Trace Context level 1 (https://www.w3.org/TR/trace-context-1/) and X-Request-Id, the pure
// part: parse and validate what arrived, format what is passed on. Ids come from gateway/ids.ts.
// Everything here runs once per request, so it reads char codes and allocates nothing but the
// strings it returns.

/** §3.2.2.3: trace-id, 32 lowercase hex digits. */
const TRACE_ID_CHARS = 32;
/** §3.2.2.4: parent-id, 16 lowercase hex digits. */
const PARENT_ID_CHARS = 16;
/** `00-` + trace-id + `-` + parent-id + `-` + 2 flag digits: the whole value in version 00. */
export const TRACEPARENT_CHARS = 55;
/** Where the trace-id starts in a traceparent value. */
export const TRACE_ID_START = 3;
export const TRACE_ID_END = TRACE_ID_START + TRACE_ID_CHARS;
const PARENT_ID_START = TRACE_ID_END + 1;
const FLAGS_START = PARENT_ID_START + PARENT_ID_CHARS + 1;
/** Longest X-Request-Id kept; a longer one is replaced (it ends up in every log line). */
export const MAX_REQUEST_ID_CHARS = 200;

/** 0-9, a-f: HEXDIGLC in the spec's ABNF (§3.2.2); uppercase is invalid. */
function isLowerHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);
}

/** True when v[start, end) is lowercase hex and not all zeros (§3.2.2.3, §3.2.2.4: all-zero ids are invalid). */
function isHexId(v: string, start: number, end: number): boolean {
  let nonZero = false;
  for (let i = start; i < end; i++) {
    const c = v.charCodeAt(i);
    if (!isLowerHex(c)) return false;
    if (c !== 0x30) nonZero = true;
  }
  return nonZero;
}

/**
 * The trace-flags to pass on from an incoming traceparent value, or '' when it is invalid (then a
 * new trace starts, and tracestate is dropped: §3.3.1 "if the vendor failed to parse traceparent,
 * it MUST NOT attempt to parse tracestate").
 * - version 00: exactly `00-<32 hex>-<16 hex>-<2 hex>`, 55 characters, lowercase, neither id all zeros;
 * - a higher version (not `ff`, which is invalid): §3.2.4 "parse it as version 00" from the first
 *   55 characters, which must be followed by the end of the value or `-`. Only the sampled bit of
 *   its flags is kept: we send version 00, where the other bits are not defined.
 * Leading and trailing spaces and tabs (OWS, RFC 9110 §5.5) are the caller's to trim.
 */
export function traceFlags(v: string): string {
  const n = v.length;
  if (n < TRACEPARENT_CHARS) return '';
  const v0 = v.charCodeAt(0);
  const v1 = v.charCodeAt(1);
  if (!isLowerHex(v0) || !isLowerHex(v1) || (v0 === 0x66 && v1 === 0x66)) return '';
  const version00 = v0 === 0x30 && v1 === 0x30;
  if (version00 ? n !== TRACEPARENT_CHARS : n > TRACEPARENT_CHARS && v.charCodeAt(TRACEPARENT_CHARS) !== 0x2d)
    return '';
  if (
    v.charCodeAt(2) !== 0x2d ||
    v.charCodeAt(TRACE_ID_END) !== 0x2d ||
    v.charCodeAt(FLAGS_START - 1) !== 0x2d ||
    !isLowerHex(v.charCodeAt(FLAGS_START)) ||
    !isLowerHex(v.charCodeAt(FLAGS_START + 1)) ||
    !isHexId(v, TRACE_ID_START, TRACE_ID_END) ||
    !isHexId(v, PARENT_ID_START, FLAGS_START - 1)
  )
    return '';
  if (version00) return v.slice(FLAGS_START, FLAGS_START + 2);
  // Bit 0 is the last hex digit's low bit.
  return (v.charCodeAt(FLAGS_START + 1) & 1) === 1 ? '01' : '00';
}

/** Trims OWS (space, tab) around a header value; returns the same string when there is none. */
export function trimOws(v: string): string {
  const n = v.length;
  if (n === 0) return v;
  const a = v.charCodeAt(0);
  const b = v.charCodeAt(n - 1);
  return a === 0x20 || a === 0x09 || b === 0x20 || b === 0x09 ? v.replace(/^[ \t]+|[ \t]+$/g, '') : v;
}

/** The traceparent to pass on (§3.2): version 00, the trace-id kept, our own span as the parent. */
export function formatTraceparent(traceId: string, spanId: string, flags: string): string {
  return '00-' + traceId + '-' + spanId + '-' + flags;
}

/**
 * A client's X-Request-Id is kept when it is 1–200 printable ASCII characters (0x20–0x7e): it is
 * passed upstream, returned and logged, so it must not carry control characters or megabytes.
 */
export function isSaneRequestId(v: string): boolean {
  const n = v.length;
  if (n === 0 || n > MAX_REQUEST_ID_CHARS) return false;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}
