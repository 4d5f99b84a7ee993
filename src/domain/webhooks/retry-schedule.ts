/**
 * When a failed delivery is tried again. The default follows Svix's schedule (the Standard
 * Webhooks example): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after the first attempt's failure,
 * 8 attempts over about 27.6 hours. Each delay gets ±10% jitter so that an endpoint that was down
 * is not hit by every retry at the same instant.
 */
export const DEFAULT_RETRY_SCHEDULE_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

/** The delay after attempt `attemptsMade` (1-based) failed; null when the schedule is used up. */
export function retryDelayMs(schedule: number[], attemptsMade: number, random: () => number = Math.random): number | null {
  const base = schedule[attemptsMade - 1];
  if (base === undefined) return null;
  const jitter = base * 0.1 * (2 * random() - 1);
  return Math.max(0, Math.round(base + jitter));
}
