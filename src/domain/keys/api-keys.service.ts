import { AppError, errors } from '../../lib/errors';
import { newId } from '../../lib/ids';
import type { ApiKeyRecord, ApiKeysRepo, KeySource } from './api-keys.port';
import { TOKEN_FORMAT, describeToken, generateToken, hashToken } from './api-key-token';
import { SCOPES, type KeyMode, type Scope } from './scopes';

export interface Principal {
  workspaceId: string;
  keyId: string;
  mode: KeyMode;
  scopes: ReadonlySet<Scope>;
}

export interface CreateKeyInput {
  workspaceId: string;
  name: string;
  scopes: Scope[];
  mode: KeyMode;
  source: KeySource;
  expiresAt?: Date | null;
}

export interface ApiKeysService {
  create(input: CreateKeyInput): Promise<{ record: ApiKeyRecord; plaintext: string }>;
  /** Installs ADMIN_API_KEY (every scope) into a workspace; earlier env keys are revoked. */
  installEnvKey(workspaceId: string, plaintext: string): Promise<ApiKeyRecord>;
  /** Returns who is calling, or throws 401 (missing, malformed, unknown, revoked, expired alike). */
  authenticate(authorization: string | undefined): Promise<Principal>;
  get(workspaceId: string, id: string): Promise<ApiKeyRecord>;
  list: ApiKeysRepo['list'];
  listAll: ApiKeysRepo['listAll'];
  revoke(id: string, workspaceId?: string): Promise<ApiKeyRecord>;
}

// last_used_at is informative; writing it on every request would turn each read into a write.
const TOUCH_INTERVAL_MS = 60_000;

export function createApiKeysService(deps: { repo: ApiKeysRepo; now?: () => Date }): ApiKeysService {
  const now = deps.now ?? (() => new Date());
  const { repo } = deps;

  return {
    async create(input) {
      const token = generateToken(input.mode);
      const record = await repo.insert({
        id: newId('apiKey'),
        workspaceId: input.workspaceId,
        name: input.name,
        keyHash: token.hash,
        prefix: token.prefix,
        lastFour: token.lastFour,
        scopes: [...new Set(input.scopes)],
        mode: input.mode,
        source: input.source,
        expiresAt: input.expiresAt ?? null,
      });
      return { record, plaintext: token.plaintext };
    },

    async installEnvKey(workspaceId, plaintext) {
      const d = describeToken(plaintext);
      return repo.upsertEnvKey({
        id: newId('apiKey'),
        workspaceId,
        name: 'Admin key (ADMIN_API_KEY)',
        keyHash: d.hash,
        prefix: d.prefix,
        lastFour: d.lastFour,
        scopes: [...SCOPES],
        mode: d.mode,
        source: 'env',
        expiresAt: null,
      });
    },

    async authenticate(authorization) {
      const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
      const token = match?.[1] ?? '';
      // Same work for every request: hash and look up even a malformed token, so the answer's
      // timing does not tell a malformed key from an unknown or revoked one.
      const record = await repo.findByHash(hashToken(token));
      const at = now();
      if (
        !record ||
        !TOKEN_FORMAT.test(token) ||
        record.revokedAt !== null ||
        (record.expiresAt !== null && record.expiresAt.getTime() <= at.getTime())
      ) {
        throw errors.unauthenticated();
      }
      if (!record.lastUsedAt || at.getTime() - record.lastUsedAt.getTime() > TOUCH_INTERVAL_MS) {
        await repo.touch(record.id, at);
      }
      return { workspaceId: record.workspaceId, keyId: record.id, mode: record.mode, scopes: new Set(record.scopes) };
    },

    async get(workspaceId, id) {
      const record = await repo.get(workspaceId, id);
      if (!record) throw errors.notFound('api_key', id);
      return record;
    },

    list: (workspaceId, opts) => repo.list(workspaceId, opts),
    listAll: (opts) => repo.listAll(opts),

    async revoke(id, workspaceId) {
      const record = await repo.revoke(id, now(), workspaceId);
      if (!record) throw errors.notFound('api_key', id);
      return record;
    },
  };
}

/** A key may only mint keys within its own powers: no wider scopes, and test keys mint test keys. */
export function assertCanMint(principal: Principal, scopes: Scope[], mode: KeyMode): void {
  const extra = scopes.filter((s) => !principal.scopes.has(s));
  if (extra.length > 0) {
    throw new AppError({
      type: 'permission_error',
      code: 'scope_escalation',
      status: 403,
      message: `A key cannot create a key with scopes it does not hold: ${extra.join(', ')}.`,
      param: 'scopes',
    });
  }
  if (principal.mode === 'test' && mode === 'live') {
    throw new AppError({
      type: 'permission_error',
      code: 'mode_escalation',
      status: 403,
      message: 'A test key can only create test keys.',
      param: 'mode',
    });
  }
}
