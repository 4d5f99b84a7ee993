import type { Queryable } from './database';

export interface MaintenanceRepo {
  /** Deletes idempotency records past their 24 h retention; returns how many. */
  pruneIdempotencyKeys(now: Date): Promise<number>;
  /** Deletes statuses that waited more than 7 days for their message's wamid. */
  prunePendingStatuses(now: Date): Promise<number>;
}

export function createMaintenanceRepo(db: Queryable): MaintenanceRepo {
  return {
    async pruneIdempotencyKeys(now) {
      const r = await db.query('delete from idempotency_keys where expires_at < $1', [now]);
      return r.rowCount ?? 0;
    },
    async prunePendingStatuses(now) {
      const r = await db.query("delete from pending_statuses where received_at < $1::timestamptz - interval '7 days'", [now]);
      return r.rowCount ?? 0;
    },
  };
}
