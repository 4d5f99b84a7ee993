import type { WorkspaceRecord, WorkspacesRepo } from '../../domain/tenancy/tenancy.port';
import type { Queryable } from './database';

interface Row {
  id: string;
  name: string;
  slug: string | null;
  settings: Record<string, unknown>;
  created_at: Date;
}

const COLUMNS = 'id, name, slug, settings, created_at';
const toRecord = (r: Row): WorkspaceRecord => ({
  id: r.id,
  name: r.name,
  slug: r.slug,
  settings: r.settings,
  createdAt: r.created_at,
});

export function createWorkspacesRepo(db: Queryable): WorkspacesRepo {
  return {
    async insert(w) {
      const { rows } = await db.query<Row>(
        `insert into workspaces (id, name, slug) values ($1, $2, $3) returning ${COLUMNS}`,
        [w.id, w.name, w.slug],
      );
      return toRecord(rows[0] as Row);
    },
    async ensureBySlug(w) {
      await db.query('insert into workspaces (id, name, slug) values ($1, $2, $3) on conflict (slug) do nothing', [
        w.id,
        w.name,
        w.slug,
      ]);
      const { rows } = await db.query<Row>(`select ${COLUMNS} from workspaces where slug = $1`, [w.slug]);
      return toRecord(rows[0] as Row);
    },
    async get(id) {
      const { rows } = await db.query<Row>(`select ${COLUMNS} from workspaces where id = $1`, [id]);
      return rows[0] ? toRecord(rows[0]) : null;
    },
    async mergeSettings(id, key, value) {
      const { rows } = await db.query<Row>(
        `update workspaces set settings = jsonb_set(settings, array[$2::text], $3::jsonb, true), updated_at = now()
          where id = $1 returning ${COLUMNS}`,
        [id, key, JSON.stringify(value)],
      );
      return rows[0] ? toRecord(rows[0]) : null;
    },
    async list() {
      const { rows } = await db.query<Row>(`select ${COLUMNS} from workspaces order by id`);
      return rows.map(toRecord);
    },
  };
}
