import { type FieldIssue, ValidationError } from './errors.js';
import type * as z from './schemas/zod.js';

/** Renders a zod path the way a person writes it: `alerts[2].labels.service`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/**
 * One issue per problem, its path under `prefix`. zod reports a bad record key (a label name) only as
 * "Invalid key in record": the key's own check says what is wrong with it. Each key a strict object
 * does not know is an issue of its own, at its path.
 */
export function toFieldIssues(error: z.core.$ZodError, prefix: readonly PropertyKey[] = []): FieldIssue[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: formatPath([...prefix, ...issue.path, key]), message: 'unknown key' }))
      : [
          {
            path: formatPath([...prefix, ...issue.path]),
            message: (issue.code === 'invalid_key' && issue.issues[0]?.message) || issue.message,
          },
        ],
  );
}

/** Parses `input` or throws a ValidationError naming the path of every bad field. */
export function parseWith<S extends z.ZodMiniType>(schema: S, input: unknown, what?: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new ValidationError(toFieldIssues(result.error), what);
  return result.data;
}
