import type { MediaRecord, MediaRepo } from '../../domain/media/media.port';
import type { Queryable } from './database';

interface Row {
  id: string;
  workspace_id: string;
  message_id: string;
  meta_media_id: string;
  mime_type: string | null;
  sha256: string | null;
  size_bytes: number | null;
  storage: 'local' | 'supabase' | null;
  storage_key: string | null;
  status: 'pending' | 'stored' | 'failed';
  error: string | null;
  phone_number_id: string;
  meta_phone_number_id: string;
}

export function createMediaRepo(db: Queryable): MediaRepo {
  return {
    async findByMessage(workspaceId, messageId) {
      const { rows } = await db.query<{ id: string }>('select id from media where workspace_id = $1 and message_id = $2 order by id limit 1', [workspaceId, messageId]);
      return rows[0] ? this.get(workspaceId, rows[0].id) : null;
    },
    async get(workspaceId, id) {
      const { rows } = await db.query<Row>(
        `select md.*, m.phone_number_id, n.phone_number_id as meta_phone_number_id
           from media md join messages m on m.id = md.message_id join phone_numbers n on n.id = m.phone_number_id
          where md.workspace_id = $1 and md.id = $2`,
        [workspaceId, id],
      );
      const r = rows[0];
      if (!r) return null;
      const record: MediaRecord = {
        id: r.id,
        workspaceId: r.workspace_id,
        messageId: r.message_id,
        metaMediaId: r.meta_media_id,
        mimeType: r.mime_type,
        sha256: r.sha256,
        sizeBytes: r.size_bytes,
        storage: r.storage,
        storageKey: r.storage_key,
        status: r.status,
        error: r.error,
        phoneNumberId: r.phone_number_id,
        metaPhoneNumberId: r.meta_phone_number_id,
      };
      return record;
    },
    async markStored(id, v) {
      await db.query(
        `update media set status = 'stored', storage = $2, storage_key = $3, mime_type = $4, sha256 = $5, size_bytes = $6,
           error = null, updated_at = now() where id = $1`,
        [id, v.storage, v.key, v.mimeType, v.sha256, v.size],
      );
    },
    async markFailed(id, error) {
      await db.query("update media set status = 'failed', error = $2, updated_at = now() where id = $1 and status = 'pending'", [id, error]);
    },
  };
}
