// FileSource: the local-mode provider. Reads every *.yaml / *.yml under a folder (multi-document
// files too) and publishes a full snapshot whenever the content changes. Like a traefik provider it
// only publishes; validation and reconcile happen downstream.
//
// Change detection: fs.watch (recursive) is only a trigger, because it can miss events on Linux
// (editors replace files by rename, new folders, network mounts). The truth is a cheap poll of
// (ino, size, mtime, ctime) every pollIntervalMs. A file is re-read only after its stat stayed the
// same for one settle period, so an editor's multi-step save (truncate, write, rename) is read once.
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseAllDocuments, type YAMLError } from 'yaml';
import type { Logger } from '../../lib/log.js';

export interface SourceObject {
  readonly origin: string;
  readonly baseDir: string;
  readonly object: unknown;
}
export interface SourceError {
  readonly origin: string;
  readonly message: string;
}
export interface SourceSnapshot {
  readonly objects: readonly SourceObject[];
  readonly errors: readonly SourceError[];
}

export interface FileSourceOptions {
  readonly dir: string;
  readonly logger: Logger;
  /** Period of the stat poll; default 250 ms. */
  readonly pollIntervalMs?: number;
  /** How long a changed file's stat must stay still before it is read; default 50 ms. */
  readonly settleMs?: number;
}

/** A file as we last read it. */
interface FileEntry {
  /** Stat signature at the last read. */
  signature: string;
  /** null after a read error, so any later content counts as a change. */
  text: string | null;
  /** Objects of the last successful parse; null if it never parsed. */
  good: readonly SourceObject[] | null;
  error: SourceError | null;
}

const DEFAULT_POLL_INTERVAL_MS = 250;
const DEFAULT_SETTLE_MS = 50;
/** Folders that never hold manifests and can be huge. */
const SKIPPED_DIRS = new Set(['node_modules']);
/** Bound on the depth of the walk, against symlink-free but absurd trees. */
const MAX_DEPTH = 32;

export class FileSource {
  private readonly dir: string;
  private readonly pollIntervalMs: number;
  private readonly settleMs: number;
  private readonly files = new Map<string, FileEntry>();
  /** Signatures seen by the previous scan, for files whose change is not settled yet. */
  private pending = new Map<string, string>();
  private last: SourceSnapshot = Object.freeze({ objects: Object.freeze([]), errors: Object.freeze([]) });
  private lastText = '';
  private rootError: SourceError | null = null;
  private onChange: ((snapshot: SourceSnapshot) => void) | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private triggerTimer: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  private scanning: Promise<void> | null = null;
  private rescan = false;
  private stopped = false;

  constructor(private readonly options: FileSourceOptions) {
    this.dir = resolve(options.dir);
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  }

  /** One full read of every file, ignoring what the poll knows. */
  async load(): Promise<SourceSnapshot> {
    const found = await this.list();
    for (const path of [...this.files.keys()]) if (!found.has(path)) this.files.delete(path);
    for (const [path, signature] of found) await this.read(path, signature);
    this.pending.clear();
    return this.snapshot();
  }

  /** Loads, returns the first snapshot, then calls onChange with every changed snapshot until stop(). */
  async start(onChange: (snapshot: SourceSnapshot) => void): Promise<SourceSnapshot> {
    const first = await this.load();
    if (this.stopped) return first;
    this.onChange = onChange;
    this.pollTimer = setInterval(() => {
      this.trigger();
    }, this.pollIntervalMs);
    this.pollTimer.unref();
    try {
      // Recursive fs.watch exists on Linux since Node 19.1; it only makes detection faster.
      this.watcher = watch(this.dir, { recursive: true, persistent: false }, () => {
        this.schedule(this.settleMs);
      });
      this.watcher.on('error', (err) => {
        this.options.logger.debug('fs.watch failed; polling only', { dir: this.dir, error: err.message });
        this.watcher?.close();
        this.watcher = null;
      });
    } catch (err) {
      this.options.logger.debug('fs.watch unavailable; polling only', { dir: this.dir, error: String(err) });
    }
    return first;
  }

  stop(): void {
    this.stopped = true;
    this.onChange = null;
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    if (this.triggerTimer !== null) clearTimeout(this.triggerTimer);
    this.watcher?.close();
    this.pollTimer = null;
    this.triggerTimer = null;
    this.watcher = null;
  }

  // ---- scanning ----------------------------------------------------------------------------------

  /** Coalesces watch events: one scan a short while after the last event of a burst. */
  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.triggerTimer !== null) clearTimeout(this.triggerTimer);
    this.triggerTimer = setTimeout(() => {
      this.triggerTimer = null;
      this.trigger();
    }, delayMs);
  }

  /** Runs one scan at a time; a trigger during a scan asks for one more. */
  private trigger(): void {
    if (this.stopped) return;
    if (this.scanning !== null) {
      this.rescan = true;
      return;
    }
    this.scanning = this.scan()
      .catch((err: unknown) => {
        this.options.logger.warn('scanning the folder failed', { dir: this.dir, error: String(err) });
      })
      .finally(() => {
        this.scanning = null;
        if (this.rescan) {
          this.rescan = false;
          this.trigger();
        }
      });
  }

  private async scan(): Promise<void> {
    const found = await this.list();
    let changed = false;
    let unsettled = false;
    for (const path of [...this.files.keys()]) {
      if (!found.has(path)) {
        this.files.delete(path);
        changed = true;
      }
    }
    const nextPending = new Map<string, string>();
    for (const [path, signature] of found) {
      if (this.files.get(path)?.signature === signature) continue;
      // Read only once the stat held still since the previous scan: editors save in steps.
      if (this.pending.get(path) !== signature) {
        nextPending.set(path, signature);
        unsettled = true;
        continue;
      }
      if (await this.read(path, signature)) changed = true;
    }
    this.pending = nextPending;
    if (unsettled) this.schedule(this.settleMs);
    if (changed && !this.stopped) {
      const before = this.lastText;
      const snapshot = this.snapshot();
      if (this.lastText !== before) this.onChange?.(snapshot);
    }
  }

  /** Every manifest under the root with its stat signature, in a stable sorted order. */
  private async list(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    try {
      const s = await stat(this.dir);
      if (!s.isDirectory()) throw new Error('not a directory');
      this.rootError = null;
    } catch (err) {
      this.rootError = { origin: '.', message: `cannot read folder ${this.dir}: ${errorText(err)}` };
      return out;
    }
    const paths: string[] = [];
    await walk(this.dir, 0, paths);
    paths.sort();
    for (const path of paths) {
      try {
        const s = await stat(path);
        out.set(path, `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`);
      } catch {
        // Deleted between readdir and stat: it is simply not there.
      }
    }
    return out;
  }

  /** Reads and parses one file; true when its text changed. */
  private async read(path: string, signature: string): Promise<boolean> {
    const origin = relative(this.dir, path).split(sep).join('/');
    const previous = this.files.get(path);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      const error = { origin, message: `cannot read ${origin}: ${errorText(err)}` };
      this.files.set(path, { signature, text: null, good: previous?.good ?? null, error });
      return true;
    }
    if (previous !== undefined && previous.text === text) {
      previous.signature = signature; // touched, same content: same parse, same error
      return false;
    }
    const parsed = parse(text, origin, dirname(path));
    if (parsed.error !== null) {
      this.options.logger.warn('YAML error; keeping the last good version', {
        file: origin,
        error: parsed.error.message,
      });
    }
    this.files.set(path, {
      signature,
      text,
      good: parsed.error === null ? parsed.objects : (previous?.good ?? null),
      error: parsed.error,
    });
    return true;
  }

  private snapshot(): SourceSnapshot {
    const objects: SourceObject[] = [];
    const errors: SourceError[] = [];
    if (this.rootError !== null) errors.push(this.rootError);
    // Map order is insertion order, not path order, once files come and go: sort here.
    for (const path of [...this.files.keys()].sort()) {
      const entry = this.files.get(path);
      if (entry === undefined) continue;
      if (entry.good !== null) objects.push(...entry.good);
      if (entry.error !== null) errors.push(entry.error);
    }
    const text = JSON.stringify({ objects, errors });
    if (text !== this.lastText) {
      this.lastText = text;
      this.last = Object.freeze({ objects: Object.freeze(objects), errors: Object.freeze(errors) });
    }
    return this.last;
  }
}

async function walk(dir: string, depth: number, out: string[]): Promise<void> {
  if (depth > MAX_DEPTH) return;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return; // vanished or unreadable sub-folder: nothing from it
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    // Symlinked folders are not followed (cycles); symlinked files are read.
    if (entry.isDirectory()) {
      if (entry.name.startsWith('.') || SKIPPED_DIRS.has(entry.name)) continue;
      await walk(path, depth + 1, out);
    } else if ((entry.isFile() || entry.isSymbolicLink()) && /\.ya?ml$/i.test(entry.name)) {
      if (entry.name.startsWith('.')) continue;
      out.push(path);
    }
  }
}

function parse(
  text: string,
  origin: string,
  baseDir: string,
): { objects: readonly SourceObject[]; error: SourceError | null } {
  const objects: SourceObject[] = [];
  const docs = parseAllDocuments(text);
  // parseAllDocuments returns an EmptyStream (not an array) for a file without documents.
  if (!Array.isArray(docs)) return { objects, error: null };
  for (const [index, doc] of docs.entries()) {
    const docOrigin = `${origin}#${index}`;
    const [first] = doc.errors;
    if (first !== undefined)
      return { objects, error: { origin: docOrigin, message: yamlErrorText(origin, first) } };
    let object: unknown;
    try {
      object = doc.toJS();
    } catch (err) {
      // e.g. an alias to an undefined anchor: a semantic error after a clean parse.
      return {
        objects,
        error: { origin: docOrigin, message: `${origin}: document ${index}: ${errorText(err)}` },
      };
    }
    if (object === null || object === undefined) continue; // empty document
    objects.push(Object.freeze({ origin: docOrigin, baseDir, object }));
  }
  return { objects: Object.freeze(objects), error: null };
}

function yamlErrorText(origin: string, err: YAMLError): string {
  const pos = err.linePos?.[0];
  // yaml's message already ends with " at line L, column C:" and a snippet; lead with file:line:col.
  const where = pos === undefined ? origin : `${origin}:${pos.line}:${pos.col}`;
  return `${where}: ${err.message}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
