// `kedge logs NAME [-f]`: a Service's or a revision's output, each line with its time and replica,
// read from the admin API of a running `kedge up`. -f keeps reading with a long poll on the
// cursor the previous answer returned, so no line is printed twice or skipped while kedge runs.
import { parseArgs } from 'node:util';
import type { LogsReply } from './admin-api.js';
import { adminBase, getJson } from './admin-client.js';
import { CliError, UsageError } from './usage.js';

export const LOGS_HELP = `Usage: kedge logs NAME [options]

Prints the output of a Service (all its revisions) or of one revision, oldest first, as
"TIME REPLICA LINE" (stderr lines are marked "stderr").

Options:
  -f, --follow        keep printing new lines until interrupted
      --tail N        only the last N lines (default: all lines kedge kept)
  -n, --namespace NS  (default: default)
      --admin URL     admin API of 'kedge up' (default: $KEDGE_ADMIN or http://127.0.0.1:9090)
  -h, --help          this text
`;

/** How long one follow request waits for a line; the admin side caps it at 30 s. */
const FOLLOW_WAIT_MS = 20_000;

export function formatLogLine(l: LogsReply['lines'][number]): string {
  return `${l.time} ${l.replica}${l.stream === 'stderr' ? ' stderr' : ''} ${l.line}`;
}

export async function runLogs(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      follow: { type: 'boolean', short: 'f', default: false },
      tail: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      admin: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(LOGS_HELP);
    return 0;
  }
  const name = positionals[0];
  if (name === undefined) throw new UsageError('logs: which Service or revision? kedge logs NAME [-f]');
  if (positionals.length > 1) throw new UsageError(`logs: unexpected argument "${positionals[1] ?? ''}"`);
  let tail: number | null = null;
  if (values.tail !== undefined) {
    tail = Number(values.tail);
    if (!Number.isSafeInteger(tail) || tail < 0) {
      throw new UsageError(`logs: --tail must be a non-negative integer, got "${values.tail}"`);
    }
  }
  const base = adminBase(values.admin);
  const query = new URLSearchParams({ name, namespace: values.namespace ?? 'default' });
  if (tail !== null) query.set('tail', String(tail));
  const first = await getJson<LogsReply>(base, `/api/v1/logs?${query.toString()}`);
  const write = (reply: LogsReply): void => {
    if (reply.lines.length > 0) process.stdout.write(reply.lines.map(formatLogLine).join('\n') + '\n');
  };
  write(first);
  if (!values.follow) return 0;

  // Follow the kind the first answer resolved, so a new revision's lines join a Service's stream.
  query.set('kind', first.kind);
  query.delete('tail');
  query.set('waitMs', String(FOLLOW_WAIT_MS));
  let next = first.next;
  for (;;) {
    query.set('after', String(next));
    let reply: LogsReply;
    try {
      reply = await getJson<LogsReply>(base, `/api/v1/logs?${query.toString()}`, FOLLOW_WAIT_MS + 10_000);
    } catch (err) {
      if (err instanceof CliError) {
        throw new CliError(`lost the admin API at ${base} while following ${name}: did 'kedge up' stop?`, {
          cause: err,
        });
      }
      throw err;
    }
    write(reply);
    next = reply.next;
  }
}
