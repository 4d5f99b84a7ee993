import type { IdempotencyRecord, IdempotencyRepo } from '../../domain/shared/idempotency';
import type { Queryable } from './database';

export function createIdempotencyRepo(db: Queryable): IdempotencyRepo {
  return {
    async begin(workspaceId, key, method, path, requestHash) {
      // An expired key is as good as absent.
      await db.query('delete from idempotency_keys where workspace_id = $1 and key = $2 and expires_at < now()', [workspaceId, key]);
      const inserted = await db.query(
        `insert into idempotency_keys (workspace_id, key, method, path, request_hash, locked_until)
         values ($1, $2, $3, $4, $5, now() + interval '60 seconds') on conflict do nothing`,
        [workspaceId, key, method, path, requestHash],
      );
      if (inserted.rowCount === 1) return { started: true };
      const { rows } = await db.query<IdempotencyRecord>(
        `select request_hash, state, response_status, response_body, (locked_until < now()) as lock_expired
           from idempotency_keys where workspace_id = $1 and key = $2`,
        [workspaceId, key],
      );
      const existing = rows[0];
      if (!existing) return this.begin(workspaceId, key, method, path, requestHash);
      return { started: false, existing };
    },
    async complete(workspaceId, key, status, body) {
      await db.query(
        `update idempotency_keys set state = 'completed', response_status = $3, response_body = $4, locked_until = null
          where workspace_id = $1 and key = $2`,
        [workspaceId, key, status, JSON.stringify(body)],
      );
    },
    async release(workspaceId, key) {
      await db.query("delete from idempotency_keys where workspace_id = $1 and key = $2 and state = 'in_progress'", [workspaceId, key]);
    },
  };
}
