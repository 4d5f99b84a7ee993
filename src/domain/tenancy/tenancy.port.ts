import type { KeySource } from '../keys/api-keys.port';

export interface WorkspaceRecord {
  id: string;
  name: string;
  slug: string | null;
  settings: Record<string, unknown>;
  createdAt: Date;
}

export interface PhoneNumberRecord {
  id: string;
  workspaceId: string;
  phoneNumberId: string;
  wabaId: string;
  displayNumber: string | null;
  accessTokenEnc: string;
  appSecretEnc: string;
  verifyTokenEnc: string;
  messagesPerSecond: number;
  sandbox: boolean;
  source: KeySource;
  createdAt: Date;
}

export interface WorkspacesRepo {
  insert(w: { id: string; name: string; slug: string | null }): Promise<WorkspaceRecord>;
  /** Returns the workspace with that slug, creating it with `id` and `name` if it does not exist. */
  ensureBySlug(w: { id: string; name: string; slug: string }): Promise<WorkspaceRecord>;
  get(id: string): Promise<WorkspaceRecord | null>;
  list(): Promise<WorkspaceRecord[]>;
  /** Replaces one top-level key of the workspace's settings. */
  mergeSettings(id: string, key: string, value: unknown): Promise<WorkspaceRecord | null>;
}

export interface PhoneNumbersRepo {
  insert(n: Omit<PhoneNumberRecord, 'createdAt'>): Promise<PhoneNumberRecord>;
  /** Insert, or update credentials and settings of the row with the same phone_number_id. */
  upsert(n: Omit<PhoneNumberRecord, 'createdAt'>): Promise<PhoneNumberRecord>;
  findByPhoneNumberId(phoneNumberId: string): Promise<PhoneNumberRecord | null>;
  /** Numbers named by any of these phone_number_ids or WABA ids (webhook routing). */
  /** Every number of every workspace (the ingress keeps them in memory to verify signatures). */
  listForIngress(): Promise<PhoneNumberRecord[]>;
  get(workspaceId: string, id: string): Promise<PhoneNumberRecord | null>;
  list(workspaceId?: string): Promise<PhoneNumberRecord[]>;
}
