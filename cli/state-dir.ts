// The state folder of local mode (default `<dir>/.kedge/`; FileSource skips dot folders, so it is
// never read as manifests). It holds the revision history, so that revision names and generations
// carry on across restarts of `kedge up` and never repeat or go backwards.
//
// Writes are atomic: a temporary file in the same folder, fsync, then rename over the old one
// (rename(2) replaces atomically within a file system), so a crash leaves the old or the new
// history, never half of one.
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  EMPTY_HISTORY,
  HistoryDecodeError,
  type RevisionHistory,
  decodeHistory,
  encodeHistory,
} from '../controller/revision-history.js';

export const STATE_DIR_NAME = '.kedge';
const HISTORY_FILE = 'revisions.json';

export class StateDirError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StateDirError';
  }
}

export class StateDir {
  readonly historyPath: string;
  private lastWritten: string | null = null;

  constructor(readonly path: string) {
    this.historyPath = join(path, HISTORY_FILE);
  }

  /** The persisted history, or the empty one on a first start. Throws StateDirError when unreadable. */
  loadHistory(): RevisionHistory {
    if (!existsSync(this.historyPath)) return EMPTY_HISTORY;
    let text: string;
    try {
      text = readFileSync(this.historyPath, 'utf8');
    } catch (err) {
      throw new StateDirError(`cannot read ${this.historyPath}: ${String(err)}`, { cause: err });
    }
    try {
      const history = decodeHistory(text);
      this.lastWritten = encodeHistory(history);
      return history;
    } catch (err) {
      if (!(err instanceof HistoryDecodeError)) throw err;
      throw new StateDirError(
        `${this.historyPath} is damaged (${err.message}); kedge will not guess revision names. Move the file away to start the history afresh.`,
        { cause: err },
      );
    }
  }

  /** Writes the history if it changed since the last write; returns whether it wrote. */
  saveHistory(history: RevisionHistory): boolean {
    const text = encodeHistory(history);
    if (text === this.lastWritten) return false;
    mkdirSync(this.path, { recursive: true });
    const tmp = `${this.historyPath}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.historyPath);
    this.lastWritten = text;
    return true;
  }
}
