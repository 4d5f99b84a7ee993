import { classifyGraphError, GraphApiError } from './graph-errors';

describe("Meta's error codes", () => {
  it.each([
    [130429, 400, 'retryable'], // throughput
    [131056, 400, 'pair_rate_limited'], // pair rate: pace that recipient only
    [131057, 400, 'retryable'], // maintenance
    [2, 503, 'retryable'],
    [131016, 500, 'retryable'],
    [4, 400, 'retryable'],
    [80007, 400, 'retryable'],
    [131047, 400, 'permanent'], // 24 h window closed
    [131026, 400, 'permanent'],
    [131051, 400, 'permanent'],
    [132000, 400, 'permanent'],
    [132018, 400, 'permanent'],
    [100, 400, 'permanent'],
    [190, 401, 'permanent'],
    [368, 403, 'permanent'],
  ] as const)('code %i (HTTP %i) is %s', (code, status, expected) => {
    expect(classifyGraphError(code, status)).toBe(expected);
    expect(new GraphApiError({ message: 'x', code, httpStatus: status }).retryable).toBe(expected !== 'permanent');
  });

  it('without a Meta body, server trouble and timeouts are retryable, client errors are not', () => {
    expect(classifyGraphError(undefined, undefined)).toBe('retryable');
    expect(classifyGraphError(undefined, 502)).toBe('retryable');
    expect(classifyGraphError(undefined, 429)).toBe('retryable');
    expect(classifyGraphError(undefined, 404)).toBe('permanent');
  });

  it('an unknown code with a 5xx is retried', () => {
    expect(classifyGraphError(999999, 500)).toBe('retryable');
    expect(classifyGraphError(999999, 400)).toBe('permanent');
  });
});
