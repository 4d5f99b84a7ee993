import type { KeySource } from '../../domain/keys/api-keys.port';
import type { PhoneNumberRecord, PhoneNumbersRepo } from '../../domain/tenancy/tenancy.port';
import type { Queryable } from './database';

interface Row {
  id: string;
  workspace_id: string;
  phone_number_id: string;
  waba_id: string;
  display_number: string | null;
  access_token_enc: string;
  app_secret_enc: string;
  verify_token_enc: string;
  messages_per_second: number;
  sandbox: boolean;
  source: KeySource;
  created_at: Date;
}

const COLUMNS =
  'id, workspace_id, phone_number_id, waba_id, display_number, access_token_enc, app_secret_enc, ' +
  'verify_token_enc, messages_per_second, sandbox, source, created_at';

const toRecord = (r: Row): PhoneNumberRecord => ({
  id: r.id,
  workspaceId: r.workspace_id,
  phoneNumberId: r.phone_number_id,
  wabaId: r.waba_id,
  displayNumber: r.display_number,
  accessTokenEnc: r.access_token_enc,
  appSecretEnc: r.app_secret_enc,
  verifyTokenEnc: r.verify_token_enc,
  messagesPerSecond: r.messages_per_second,
  sandbox: r.sandbox,
  source: r.source,
  createdAt: r.created_at,
});

const params = (n: Omit<PhoneNumberRecord, 'createdAt'>) => [
  n.id,
  n.workspaceId,
  n.phoneNumberId,
  n.wabaId,
  n.displayNumber,
  n.accessTokenEnc,
  n.appSecretEnc,
  n.verifyTokenEnc,
  n.messagesPerSecond,
  n.sandbox,
  n.source,
];

const INSERT = `insert into phone_numbers (id, workspace_id, phone_number_id, waba_id, display_number,
  access_token_enc, app_secret_enc, verify_token_enc, messages_per_second, sandbox, source)
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`;

export function createPhoneNumbersRepo(db: Queryable): PhoneNumbersRepo {
  return {
    async insert(n) {
      const { rows } = await db.query<Row>(`${INSERT} returning ${COLUMNS}`, params(n));
      return toRecord(rows[0] as Row);
    },
    async upsert(n) {
      // The workspace of an existing number never changes here (the where clause); the service
      // reports that case as a conflict before we get here.
      const { rows } = await db.query<Row>(
        `${INSERT}
         on conflict (phone_number_id) do update set
           waba_id = excluded.waba_id,
           display_number = coalesce(excluded.display_number, phone_numbers.display_number),
           access_token_enc = excluded.access_token_enc,
           app_secret_enc = excluded.app_secret_enc,
           verify_token_enc = excluded.verify_token_enc,
           messages_per_second = excluded.messages_per_second,
           sandbox = excluded.sandbox,
           updated_at = now()
         where phone_numbers.workspace_id = excluded.workspace_id
         returning ${COLUMNS}`,
        params(n),
      );
      if (!rows[0]) throw new Error('phone number belongs to another workspace');
      return toRecord(rows[0]);
    },
    async findByPhoneNumberId(phoneNumberId) {
      const { rows } = await db.query<Row>(`select ${COLUMNS} from phone_numbers where phone_number_id = $1`, [
        phoneNumberId,
      ]);
      return rows[0] ? toRecord(rows[0]) : null;
    },
    async listForIngress() {
      const { rows } = await db.query<Row>(`select ${COLUMNS} from phone_numbers`);
      return rows.map(toRecord);
    },
    async get(workspaceId, id) {
      const { rows } = await db.query<Row>(`select ${COLUMNS} from phone_numbers where workspace_id = $1 and id = $2`, [
        workspaceId,
        id,
      ]);
      return rows[0] ? toRecord(rows[0]) : null;
    },
    async list(workspaceId) {
      const { rows } = workspaceId
        ? await db.query<Row>(`select ${COLUMNS} from phone_numbers where workspace_id = $1 order by id`, [workspaceId])
        : await db.query<Row>(`select ${COLUMNS} from phone_numbers order by id`);
      return rows.map(toRecord);
    },
  };
}
