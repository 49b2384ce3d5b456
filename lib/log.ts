export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

/** Structured logger: a message for humans, fields for machines. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const LEVEL_ORDER: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  /** 'json' for cluster components (one object per line), 'text' for a terminal. */
  format: 'json' | 'text';
  level: LogLevel;
  write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions, bound: LogFields = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const min = LEVEL_ORDER[options.level];
  const emit = (level: LogLevel, msg: string, fields: LogFields | undefined): void => {
    if (LEVEL_ORDER[level] < min) return;
    const all = fields === undefined ? bound : { ...bound, ...fields };
    if (options.format === 'json') {
      write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...all }));
      return;
    }
    let line = `${new Date().toISOString().slice(11, 23)} ${level.padEnd(5)} ${msg}`;
    for (const [k, v] of Object.entries(all)) if (v !== undefined) line += ` ${k}=${String(v)}`;
    write(line);
  };
  return {
    debug: (m, f) => {
      emit('debug', m, f);
    },
    info: (m, f) => {
      emit('info', m, f);
    },
    warn: (m, f) => {
      emit('warn', m, f);
    },
    error: (m, f) => {
      emit('error', m, f);
    },
    child: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

/** Discards everything; for tests that assert on behaviour, not on log lines. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
