// FieldError: validation errors that carry the field path they belong to, modelled on Knative's
// apis.FieldError (knative/pkg apis/field_error.go). Values, not exceptions: validators return an
// aggregate, callers prefix paths on the way up (viaField/viaIndex/viaKey) and format once.
//
// The text format is Knative's, byte for byte, because users compare it with `kubectl` output and
// Knative docs: `<message>: <comma-joined sorted paths>[\n<details>]`, errors with the same message
// and details merged (paths de-duplicated and sorted), the list sorted by message then details, and
// joined by newlines (field_error.go Error(), merge()).

/** One leaf error. `paths` are dotted field paths such as `spec.template.spec.containers[0].image`. */
export interface FieldErrorEntry {
  readonly message: string;
  readonly paths: readonly string[];
  /** Optional longer explanation, printed on the next line. */
  readonly details: string;
}

/** The current field itself (Knative apis.CurrentField); skipped when paths are joined. */
export const CURRENT_FIELD = '';

/** An immutable, flat collection of FieldErrorEntry. Empty means "valid". */
export class FieldError {
  static readonly none: FieldError = new FieldError([]);

  private constructor(readonly entries: readonly FieldErrorEntry[]) {
    Object.freeze(this);
  }

  static of(message: string, paths: readonly string[], details = ''): FieldError {
    return new FieldError([Object.freeze({ message, paths: Object.freeze([...paths]), details })]);
  }

  isEmpty(): boolean {
    return this.entries.length === 0;
  }

  /** Collects errors: this plus all of `others`. */
  also(...others: readonly FieldError[]): FieldError {
    const more = others.filter((o) => !o.isEmpty());
    if (more.length === 0) return this;
    if (this.isEmpty() && more.length === 1) return more[0] ?? this;
    return new FieldError([...this.entries, ...more.flatMap((o) => o.entries)]);
  }

  /** Prefixes every path with `prefix` (e.g. `spec`, or `metadata.annotations`). */
  viaField(...prefix: readonly string[]): FieldError {
    if (this.isEmpty()) return this;
    return new FieldError(
      this.entries.map((e) =>
        Object.freeze({ ...e, paths: Object.freeze(e.paths.map((p) => flatten([...prefix, p]))) }),
      ),
    );
  }

  /** Attaches an index to the next viaField: `err.viaIndex(0).viaField('containers')` gives `containers[0].x`. */
  viaIndex(index: number): FieldError {
    return this.viaField(`[${index}]`);
  }

  viaFieldIndex(field: string, index: number): FieldError {
    return this.viaIndex(index).viaField(field);
  }

  /** Attaches a map key: `[key]`. */
  viaKey(key: string): FieldError {
    return this.viaField(`[${key}]`);
  }

  viaFieldKey(field: string, key: string): FieldError {
    return this.viaKey(key).viaField(field);
  }

  /** Knative's Error() text; '' when empty. */
  format(): string {
    return formatFieldErrors(this);
  }
}

function isIndex(part: string): boolean {
  return part.startsWith('[') && part.endsWith(']');
}

/**
 * Joins path parts the way Knative's flatten() does: parts are split on '.', empty parts dropped,
 * and an index part (`[0]`) glued to the part before it (`containers[0]`).
 */
function flatten(parts: readonly string[]): string {
  const out: string[] = [];
  for (const part of parts) {
    for (const p of part.split('.')) {
      if (p === CURRENT_FIELD) continue;
      const last = out.length - 1;
      if (last >= 0 && isIndex(p)) out[last] = `${out[last] ?? ''}${p}`;
      else out.push(p);
    }
  }
  return out.join('.');
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Knative's merge(): same message+details → one entry with de-duplicated, sorted paths; entries sorted. */
export function mergeFieldErrors(err: FieldError): readonly FieldErrorEntry[] {
  const byKey = new Map<string, { message: string; details: string; paths: string[] }>();
  for (const e of err.entries) {
    const key = `${e.message}\u0000${e.details}`;
    const seen = byKey.get(key);
    if (seen === undefined) byKey.set(key, { message: e.message, details: e.details, paths: [...e.paths] });
    else for (const p of e.paths) if (!seen.paths.includes(p)) seen.paths.push(p);
  }
  const merged = [...byKey.values()].map((e) => ({ ...e, paths: e.paths.sort(compareStrings) }));
  merged.sort((a, b) => compareStrings(a.message, b.message) || compareStrings(a.details, b.details));
  return merged;
}

/** `<message>: <paths>[\n<details>]` per merged entry, joined by '\n' (Knative FieldError.Error()). */
export function formatFieldErrors(err: FieldError): string {
  return mergeFieldErrors(err)
    .map((e) => {
      const head = `${e.message}: ${e.paths.join(', ')}`;
      return e.details === '' ? head : `${head}\n${e.details}`;
    })
    .join('\n');
}

// Helpers with Knative's messages (field_error.go "Public helpers").

/** `missing field(s): a, b` */
export function missingField(...paths: readonly string[]): FieldError {
  return FieldError.of('missing field(s)', paths);
}

/** `must not set the field(s): a, b` (Knative rejects these: masked out, or disallowed in context). */
export function disallowedFields(...paths: readonly string[]): FieldError {
  return FieldError.of('must not set the field(s)', paths);
}

/** `invalid value: <value>: path` with optional details (Knative ErrInvalidValue uses fmt.Sprint). */
export function invalidValue(
  value: string | number | boolean,
  path: string,
  ...details: readonly string[]
): FieldError {
  return FieldError.of(`invalid value: ${String(value)}`, [path], details.join(', '));
}

/** `expected <low> <= <value> <= <high>: path` (Knative ErrOutOfBoundsValue). */
export function outOfBounds(
  low: string | number,
  value: string | number,
  high: string | number,
  path: string,
): FieldError {
  return FieldError.of(`expected ${String(low)} <= ${String(value)} <= ${String(high)}`, [path]);
}

/** `expected exactly one, got neither: a, b` */
export function missingOneOf(...paths: readonly string[]): FieldError {
  return FieldError.of('expected exactly one, got neither', paths);
}

/** `expected exactly one, got both: a, b` */
export function multipleOneOf(...paths: readonly string[]): FieldError {
  return FieldError.of('expected exactly one, got both', paths);
}

/** `invalid key name "<key>": path` with optional details. */
export function invalidKeyName(key: string, path: string, ...details: readonly string[]): FieldError {
  return FieldError.of(`invalid key name ${goQuote(key)}`, [path], details.join(', '));
}

/** Any other message (Knative ErrGeneric). */
export function genericError(message: string, ...paths: readonly string[]): FieldError {
  return FieldError.of(message, paths);
}

/**
 * kedge-only: a field Knative accepts but kedge does not implement. Rejected rather than ignored,
 * so a Service never silently behaves differently from what its YAML says.
 */
export function notSupported(...paths: readonly string[]): FieldError {
  return FieldError.of('not supported by kedge', paths);
}

/** Go's %q for the strings we quote (names, keys): JSON escaping matches it for printable text. */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}
