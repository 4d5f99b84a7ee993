import type { Page } from '../shared/pagination';
import type { KeyMode, Scope } from './scopes';

export type KeySource = 'api' | 'cli' | 'env' | 'demo';

export interface ApiKeyRecord {
  id: string;
  workspaceId: string;
  name: string;
  prefix: string;
  lastFour: string;
  scopes: Scope[];
  mode: KeyMode;
  source: KeySource;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export interface NewApiKey extends Omit<ApiKeyRecord, 'createdAt' | 'lastUsedAt' | 'revokedAt'> {
  keyHash: string;
}

export interface ApiKeysRepo {
  insert(key: NewApiKey): Promise<ApiKeyRecord>;
  /** Upserts the key configured by ADMIN_API_KEY and revokes earlier env keys of the workspace. */
  upsertEnvKey(key: NewApiKey): Promise<ApiKeyRecord>;
  findByHash(hash: string): Promise<ApiKeyRecord | null>;
  get(workspaceId: string, id: string): Promise<ApiKeyRecord | null>;
  list(workspaceId: string, opts: { limit: number; startingAfter?: string }): Promise<Page<ApiKeyRecord>>;
  /** All keys, every workspace (CLI). */
  listAll(opts: { workspaceId?: string }): Promise<ApiKeyRecord[]>;
  revoke(id: string, at: Date, workspaceId?: string): Promise<ApiKeyRecord | null>;
  touch(id: string, at: Date): Promise<void>;
}
