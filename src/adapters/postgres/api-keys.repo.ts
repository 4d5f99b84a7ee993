import type { ApiKeyRecord, ApiKeysRepo, KeySource, NewApiKey } from '../../domain/keys/api-keys.port';
import type { KeyMode, Scope } from '../../domain/keys/scopes';
import { toPage } from '../../domain/shared/pagination';
import type { Queryable } from './database';

interface Row {
  id: string;
  workspace_id: string;
  name: string;
  prefix: string;
  last_four: string;
  scopes: Scope[];
  mode: KeyMode;
  source: KeySource;
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS =
  'id, workspace_id, name, prefix, last_four, scopes, mode, source, created_at, last_used_at, expires_at, revoked_at';

const toRecord = (r: Row): ApiKeyRecord => ({
  id: r.id,
  workspaceId: r.workspace_id,
  name: r.name,
  prefix: r.prefix,
  lastFour: r.last_four,
  scopes: r.scopes,
  mode: r.mode,
  source: r.source,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
});

const INSERT = `insert into api_keys (id, workspace_id, name, key_hash, prefix, last_four, scopes, mode, source, expires_at)
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`;

const params = (k: NewApiKey) => [
  k.id,
  k.workspaceId,
  k.name,
  k.keyHash,
  k.prefix,
  k.lastFour,
  k.scopes,
  k.mode,
  k.source,
  k.expiresAt,
];

export function createApiKeysRepo(db: Queryable): ApiKeysRepo {
  return {
    async insert(k) {
      const { rows } = await db.query<Row>(`${INSERT} returning ${COLUMNS}`, params(k));
      return toRecord(rows[0] as Row);
    },
    async upsertEnvKey(k) {
      await db.query(
        `update api_keys set revoked_at = now()
          where workspace_id = $1 and source = 'env' and key_hash <> $2 and revoked_at is null`,
        [k.workspaceId, k.keyHash],
      );
      // The configured key is authoritative: it is (re)activated with every scope on each start.
      const { rows } = await db.query<Row>(
        `${INSERT}
         on conflict (key_hash) do update set scopes = excluded.scopes, revoked_at = null, expires_at = null
         where api_keys.workspace_id = excluded.workspace_id
         returning ${COLUMNS}`,
        params(k),
      );
      if (!rows[0]) throw new Error('ADMIN_API_KEY is already a key of another workspace');
      return toRecord(rows[0]);
    },
    async findByHash(hash) {
      const { rows } = await db.query<Row>(`select ${COLUMNS} from api_keys where key_hash = $1`, [hash]);
      return rows[0] ? toRecord(rows[0]) : null;
    },
    async get(workspaceId, id) {
      const { rows } = await db.query<Row>(`select ${COLUMNS} from api_keys where workspace_id = $1 and id = $2`, [
        workspaceId,
        id,
      ]);
      return rows[0] ? toRecord(rows[0]) : null;
    },
    async list(workspaceId, { limit, startingAfter }) {
      const { rows } = await db.query<Row>(
        `select ${COLUMNS} from api_keys
          where workspace_id = $1 and ($2::text is null or id < $2)
          order by id desc limit $3`,
        [workspaceId, startingAfter ?? null, limit + 1],
      );
      return toPage(rows.map(toRecord), limit);
    },
    async listAll({ workspaceId }) {
      const { rows } = await db.query<Row>(
        `select ${COLUMNS} from api_keys where ($1::text is null or workspace_id = $1) order by id`,
        [workspaceId ?? null],
      );
      return rows.map(toRecord);
    },
    async revoke(id, at, workspaceId) {
      const { rows } = await db.query<Row>(
        `update api_keys set revoked_at = coalesce(revoked_at, $2)
          where id = $1 and ($3::text is null or workspace_id = $3)
          returning ${COLUMNS}`,
        [id, at, workspaceId ?? null],
      );
      return rows[0] ? toRecord(rows[0]) : null;
    },
    async touch(id, at) {
      await db.query('update api_keys set last_used_at = $2 where id = $1', [id, at]);
    },
  };
}
