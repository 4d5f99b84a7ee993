/** A rate limit: `limit` requests per `windowMs`, spread evenly (GCRA), with bursts up to `limit`. */
export interface RateLimitPolicy {
  name: string;
  limit: number;
  windowMs: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  /** Requests that could be made right now. */
  remaining: number;
  /** Milliseconds until the allowance is whole again. */
  resetMs: number;
  /** Milliseconds until the next request is allowed (0 when allowed). */
  retryAfterMs: number;
}

export interface RateLimiter {
  /** Takes one request from `key`'s allowance under `policy` (atomically). */
  take(key: string, policy: RateLimitPolicy): Promise<RateLimitDecision>;
  /** Gives one back (a request that turned out not to count, like a 403). */
  refund(key: string, policy: RateLimitPolicy): Promise<void>;
}
