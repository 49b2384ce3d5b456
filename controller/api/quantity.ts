// Kubernetes resource quantities ("100m", "0.5", "64Mi", "1G", "1e3"), parsed as Kubernetes parses
// them (k8s.io/apimachinery pkg/api/resource quantity.go ParseQuantity, suffix.go) and compared
// exactly, with no floating point: a quantity is sign × mantissa × 10^exponent, the mantissa a
// bigint that already carries any binary suffix (1.5Gi = 15 × 2^30 × 10^-1).
//
// Grammar (quantity.go):
//   <quantity> ::= <signedNumber><suffix>
//   <number>   ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
//   <suffix>   ::= Ki | Mi | Gi | Ti | Pi | Ei | n | u | m | "" | k | M | G | T | P | E
//                | "e" <signedNumber> | "E" <signedNumber>
// Like Kubernetes' scanner, a number may be empty ("+" and "." parse as 0) and an exponent must be
// a whole number. Not modelled: Kubernetes rounds a parsed value up to a whole nano and caps binary
// quantities at 2^63-1, which only matters for values no container asks for.

export interface Quantity {
  /** -1, 0 or 1. */
  readonly sign: number;
  /** > 0 unless sign is 0. */
  readonly mantissa: bigint;
  readonly exponent: number;
}

export type QuantityParse =
  { readonly ok: true; readonly quantity: Quantity } | { readonly ok: false; readonly reason: string };

/** quantity.go's regular expression, quoted in its ErrFormatWrong. */
export const QUANTITY_PATTERN = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';
// quantity.go's errors, verbatim: users compare them with what a cluster says.
export const ERR_FORMAT_WRONG = `quantities must match the regular expression '${QUANTITY_PATTERN}'`;
export const ERR_SUFFIX = "unable to parse quantity's suffix";

const DECIMAL_SUFFIXES: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_SUFFIXES: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const SUFFIX_CHARS = 'eEinumkKMGTP';
const ZERO: Quantity = Object.freeze({ sign: 0, mantissa: 0n, exponent: 0 });

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** Go strconv.ParseInt(s, 10, 64) for an exponent: optional sign, then digits only. */
function parseGoInt64(s: string): number | null {
  if (!/^[+-]?\d+$/.test(s)) return null;
  const n = BigInt(s);
  if (n > 9223372036854775807n || n < -9223372036854775808n) return null;
  return Number(n);
}

/** ParseQuantity: the value, or Kubernetes' reason it is not a quantity. */
export function parseQuantity(text: string): QuantityParse {
  const fail = (reason: string): QuantityParse => ({ ok: false, reason });
  if (text === '') return fail(ERR_FORMAT_WRONG);
  let pos = 0;
  let sign = 1;
  if (text[0] === '-' || text[0] === '+') {
    if (text[0] === '-') sign = -1;
    pos++;
  }
  while (text[pos] === '0') pos++;
  const numStart = pos;
  while (isDigit(text[pos])) pos++;
  const num = text.slice(numStart, pos);
  let denom = '';
  if (text[pos] === '.') {
    pos++;
    const denomStart = pos;
    while (isDigit(text[pos])) pos++;
    denom = text.slice(denomStart, pos);
  }
  const suffixStart = pos;
  while (pos < text.length && SUFFIX_CHARS.includes(text[pos] ?? '')) pos++;
  if (text[pos] === '-' || text[pos] === '+') pos++;
  while (isDigit(text[pos])) pos++;
  if (pos < text.length) return fail(ERR_FORMAT_WRONG);
  const suffix = text.slice(suffixStart);

  let exponent: number;
  let binaryShift = 0;
  const decimal = DECIMAL_SUFFIXES[suffix];
  const binary = BINARY_SUFFIXES[suffix];
  if (decimal !== undefined) exponent = decimal;
  else if (binary !== undefined) {
    exponent = 0;
    binaryShift = binary;
  } else if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E')) {
    const e = parseGoInt64(suffix.slice(1));
    if (e === null) return fail(ERR_SUFFIX);
    exponent = e;
  } else return fail(ERR_SUFFIX);

  const digits = `${num}${denom}`.replace(/^0+/, '');
  if (digits === '') return { ok: true, quantity: ZERO };
  return {
    ok: true,
    quantity: {
      sign,
      mantissa: BigInt(digits) << BigInt(binaryShift),
      exponent: exponent - denom.length,
    },
  };
}

function digitCount(n: bigint): number {
  return n.toString().length;
}

/** |a| vs |b| for non-zero quantities, without ever raising 10 to a huge power. */
function compareMagnitudes(a: Quantity, b: Quantity): number {
  // 10^(order-1) <= |q| < 10^order; different orders decide at once ("1e999999" vs "1").
  const orderA = digitCount(a.mantissa) + a.exponent;
  const orderB = digitCount(b.mantissa) + b.exponent;
  if (orderA !== orderB) return orderA < orderB ? -1 : 1;
  // Same order: the exponents differ by at most the mantissas' lengths.
  const shift = a.exponent - b.exponent;
  const ma = shift > 0 ? a.mantissa * 10n ** BigInt(shift) : a.mantissa;
  const mb = shift < 0 ? b.mantissa * 10n ** BigInt(-shift) : b.mantissa;
  return ma < mb ? -1 : ma > mb ? 1 : 0;
}

/** Quantity.Cmp: -1, 0 or 1. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  if (a.sign !== b.sign) return a.sign < b.sign ? -1 : 1;
  if (a.sign === 0) return 0;
  const magnitude = compareMagnitudes(a, b);
  return magnitude === 0 ? 0 : a.sign * magnitude;
}

/** A whole number (Kubernetes: integer resources such as extended ones). */
export function isWholeQuantity(q: Quantity): boolean {
  if (q.sign === 0 || q.exponent >= 0) return true;
  // A mantissa shorter than the negative exponent is a fraction below 1 (and non-zero).
  if (-q.exponent >= digitCount(q.mantissa)) return false;
  return q.mantissa % 10n ** BigInt(-q.exponent) === 0n;
}
