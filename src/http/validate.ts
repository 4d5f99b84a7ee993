import type { z } from 'zod';
import { AppError } from '../lib/errors';

/**
 * Parses untrusted input with a zod schema; the first problem becomes a 400 whose `param` names
 * the field (dotted path, e.g. `interactive.action.buttons.0.reply.title`).
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query' = 'body'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  let param = issue?.path.map(String).join('.') ?? '';
  let message = issue?.message ?? 'Invalid input.';
  if (issue?.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    param = param ? `${param}.${key}` : key;
    message = `unknown parameter`;
  } else if (issue?.code === 'invalid_type' && issue.input === undefined) {
    message = 'is required';
  }
  const label = param || where;
  return fail(label, message);
}

function fail(param: string, message: string): never {
  throw new AppError({
    type: 'invalid_request_error',
    code: 'parameter_invalid',
    status: 400,
    message: message.startsWith(param) ? message : `${param}: ${message}`,
    param,
  });
}
