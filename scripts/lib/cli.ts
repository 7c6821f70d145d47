/** What the scripts share at their edge: wrong options and failures said in a line, never a stack trace. */
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** `parseArgs`, exiting 1 with the message and `usage` on an unknown option or a missing value. */
export function parseArgsOrExit<T extends ParseArgsConfig>(config: T, usage: string): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    process.exit(1);
  }
}

/** An error's message and its causes' ("fetch failed" says nothing without "connect ECONNREFUSED …"). */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let e = error; e !== undefined && parts.length < 4; e = e instanceof Error ? e.cause : undefined) {
    parts.push(messageOf(e));
  }
  return parts.join(': ');
}

/** A connection to a host of several addresses fails with an AggregateError whose own message is empty. */
function messageOf(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  if (e.message || !(e instanceof AggregateError)) return e.message;
  return e.errors.map(messageOf).join('; ');
}
