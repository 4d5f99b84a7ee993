import { AppError, errors } from '../../lib/errors';
import { isId, newId } from '../../lib/ids';
import type { SecretBox } from '../../lib/secret-box';
import type { KeySource } from '../keys/api-keys.port';
import type { PhoneNumberRecord, PhoneNumbersRepo, WorkspaceRecord, WorkspacesRepo } from './tenancy.port';

/** A number as the rest of the system sees it: no sealed secrets. */
export type PhoneNumber = Omit<PhoneNumberRecord, 'accessTokenEnc' | 'appSecretEnc' | 'verifyTokenEnc'>;

export interface NumberCredentials {
  accessToken: string;
  appSecret: string;
  verifyToken: string;
}

export interface AddNumberInput {
  workspaceId: string;
  phoneNumberId: string;
  wabaId: string;
  displayNumber?: string | null;
  accessToken: string;
  appSecret: string;
  verifyToken: string;
  messagesPerSecond?: number;
  sandbox?: boolean;
  source: KeySource;
}

export const SECRET_CONTEXT = {
  accessToken: 'phone_numbers.access_token',
  appSecret: 'phone_numbers.app_secret',
  verifyToken: 'phone_numbers.verify_token',
} as const;

export const DEFAULT_WORKSPACE_SLUG = 'default';

export interface TenancyService {
  createWorkspace(input: { name: string; slug?: string | null }): Promise<WorkspaceRecord>;
  ensureDefaultWorkspace(): Promise<WorkspaceRecord>;
  getWorkspace(id: string): Promise<WorkspaceRecord>;
  /** Replaces one top-level key of the workspace's settings (e.g. "agent"). */
  setWorkspaceSetting(id: string, key: string, value: unknown): Promise<WorkspaceRecord>;
  listWorkspaces(): Promise<WorkspaceRecord[]>;
  addNumber(input: AddNumberInput): Promise<PhoneNumber>;
  /** Same as addNumber, but updates the number when its phone_number_id is already known. */
  upsertNumber(input: AddNumberInput): Promise<PhoneNumber>;
  listNumbers(workspaceId?: string): Promise<PhoneNumber[]>;
  findNumberByPhoneNumberId(phoneNumberId: string): Promise<PhoneNumber | null>;
  credentials(number: { id: string; workspaceId: string }): Promise<NumberCredentials>;
  /** Every number with its app secret: the ingress's directory for verifying signatures. */
  ingressDirectory(): Promise<(PhoneNumber & { appSecret: string })[]>;
  /** Every configured verify token (the webhook verification handshake). */
  verifyTokens(): Promise<string[]>;
}

function publicView(r: PhoneNumberRecord): PhoneNumber {
  const { accessTokenEnc: _a, appSecretEnc: _b, verifyTokenEnc: _c, ...rest } = r;
  return rest;
}

const META_ID = /^\d{1,32}$/;

function validateNumber(input: AddNumberInput): void {
  const bad = (param: string, message: string) =>
    new AppError({ type: 'invalid_request_error', code: 'invalid_number', status: 400, message, param });
  if (!META_ID.test(input.phoneNumberId)) throw bad('phone_number_id', 'phone_number_id must be Meta\'s numeric id');
  if (!META_ID.test(input.wabaId)) throw bad('waba_id', 'waba_id must be Meta\'s numeric id');
  for (const [param, v] of [
    ['access_token', input.accessToken],
    ['app_secret', input.appSecret],
    ['verify_token', input.verifyToken],
  ] as const) {
    if (v.trim().length === 0 || v.length > 4096) throw bad(param, `${param} must be 1 to 4096 characters`);
  }
  const mps = input.messagesPerSecond ?? 80;
  if (!Number.isInteger(mps) || mps < 1 || mps > 1000) throw bad('mps', 'mps must be an integer from 1 to 1000');
}

export function createTenancyService(deps: {
  workspaces: WorkspacesRepo;
  numbers: PhoneNumbersRepo;
  secrets: SecretBox;
}): TenancyService {
  const { workspaces, numbers, secrets } = deps;

  const seal = (input: AddNumberInput): Omit<PhoneNumberRecord, 'createdAt'> => {
    validateNumber(input);
    return {
      id: newId('phoneNumber'),
      workspaceId: input.workspaceId,
      phoneNumberId: input.phoneNumberId,
      wabaId: input.wabaId,
      displayNumber: input.displayNumber ?? null,
      accessTokenEnc: secrets.encrypt(input.accessToken, SECRET_CONTEXT.accessToken),
      appSecretEnc: secrets.encrypt(input.appSecret, SECRET_CONTEXT.appSecret),
      verifyTokenEnc: secrets.encrypt(input.verifyToken, SECRET_CONTEXT.verifyToken),
      messagesPerSecond: input.messagesPerSecond ?? 80,
      sandbox: input.sandbox ?? false,
      source: input.source,
    };
  };

  const service: TenancyService = {
    async createWorkspace({ name, slug }) {
      const trimmed = name.trim();
      if (trimmed.length < 1 || trimmed.length > 200) {
        throw errors.invalidRequest('name must be 1 to 200 characters', 'name');
      }
      return workspaces.insert({ id: newId('workspace'), name: trimmed, slug: slug ?? null });
    },

    ensureDefaultWorkspace() {
      return workspaces.ensureBySlug({ id: newId('workspace'), name: 'Default workspace', slug: DEFAULT_WORKSPACE_SLUG });
    },

    async getWorkspace(id) {
      const w = isId('workspace', id) ? await workspaces.get(id) : null;
      if (!w) throw errors.notFound('workspace', id);
      return w;
    },

    listWorkspaces: () => workspaces.list(),

    async setWorkspaceSetting(id, key, value) {
      const w = await workspaces.mergeSettings(id, key, value);
      if (!w) throw errors.notFound('workspace', id);
      return w;
    },

    async addNumber(input) {
      await service.getWorkspace(input.workspaceId);
      if (await numbers.findByPhoneNumberId(input.phoneNumberId)) {
        throw errors.conflict('number_exists', `The phone_number_id ${input.phoneNumberId} is already connected.`);
      }
      return publicView(await numbers.insert(seal(input)));
    },

    async upsertNumber(input) {
      await service.getWorkspace(input.workspaceId);
      const existing = await numbers.findByPhoneNumberId(input.phoneNumberId);
      if (existing && existing.workspaceId !== input.workspaceId) {
        throw errors.conflict('number_exists', `The phone_number_id ${input.phoneNumberId} belongs to another workspace.`);
      }
      return publicView(await numbers.upsert(seal(input)));
    },

    async listNumbers(workspaceId) {
      return (await numbers.list(workspaceId)).map(publicView);
    },

    async findNumberByPhoneNumberId(phoneNumberId) {
      const r = await numbers.findByPhoneNumberId(phoneNumberId);
      return r ? publicView(r) : null;
    },

    async ingressDirectory() {
      return (await numbers.listForIngress()).map((r) => ({
        ...publicView(r),
        appSecret: secrets.decrypt(r.appSecretEnc, SECRET_CONTEXT.appSecret),
      }));
    },

    async verifyTokens() {
      return (await numbers.list()).map((r) => secrets.decrypt(r.verifyTokenEnc, SECRET_CONTEXT.verifyToken));
    },

    async credentials(number) {
      const r = await numbers.get(number.workspaceId, number.id);
      if (!r) throw errors.notFound('phone_number', number.id);
      return {
        accessToken: secrets.decrypt(r.accessTokenEnc, SECRET_CONTEXT.accessToken),
        appSecret: secrets.decrypt(r.appSecretEnc, SECRET_CONTEXT.appSecret),
        verifyToken: secrets.decrypt(r.verifyTokenEnc, SECRET_CONTEXT.verifyToken),
      };
    },
  };
  return service;
}
