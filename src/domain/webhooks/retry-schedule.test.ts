import { DEFAULT_RETRY_SCHEDULE_MS, retryDelayMs } from './retry-schedule';

describe('webhook retry schedule', () => {
  it('follows 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then stops', () => {
    const exact = (n: number) => retryDelayMs(DEFAULT_RETRY_SCHEDULE_MS, n, () => 0.5);
    expect([1, 2, 3, 4, 5, 6, 7].map(exact)).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(exact(8)).toBeNull();
    expect(exact(0)).toBeNull();
  });

  it('adds at most 10% of jitter either way', () => {
    expect(retryDelayMs([10_000], 1, () => 0)).toBe(9_000);
    expect(retryDelayMs([10_000], 1, () => 0.999999)).toBe(11_000);
    for (let i = 0; i < 100; i++) {
      const d = retryDelayMs([300_000], 1) as number;
      expect(d).toBeGreaterThanOrEqual(270_000);
      expect(d).toBeLessThanOrEqual(330_000);
    }
  });
});
