import { z } from 'zod';
import type { OutboundServices, Services } from '../composition';
import { SCOPES, scopeSchema } from '../domain/keys/scopes';
import { AppError } from '../lib/errors';
import { iso } from '../http/serialize';
import { serializeApiKey } from '../http/routes/api-keys.route';
import { importKnowledge, knowledgeSchemas, reindexKnowledge } from './knowledge.commands';
import { silentProgress, type Progress } from './progress';

/**
 * The commands of `npm run cli` that touch the database. They run either in the CLI process (server database)
 * or inside a running gateway that owns the embedded database (sent over its admin socket), so
 * they are plain functions of the services with zod-validated options.
 */
const schemas = {
  'workspace:create': z.object({ name: z.string().min(1) }),
  'workspace:list': z.object({}),
  'number:add': z.object({
    workspace: z.string().min(1),
    phoneNumberId: z.string().min(1),
    wabaId: z.string().min(1),
    displayNumber: z.string().optional(),
    accessToken: z.string().min(1),
    appSecret: z.string().min(1),
    verifyToken: z.string().min(1),
    mps: z.coerce.number().int().min(1).max(1000).default(80),
    sandbox: z.boolean().default(false),
  }),
  'number:list': z.object({ workspace: z.string().optional() }),
  'key:create': z.object({
    workspace: z.string().min(1),
    name: z.string().min(1),
    scopes: z
      .string()
      .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
      .pipe(z.array(scopeSchema).min(1)),
    test: z.boolean().default(false),
  }),
  'key:list': z.object({ workspace: z.string().optional() }),
  'key:revoke': z.object({ id: z.string().min(1) }),
  ...knowledgeSchemas,
} as const;

/** What the commands use: a gateway's services or the CLI runtime's. */
export type CommandServices = Services & Pick<OutboundServices, 'knowledge'>;

export type CommandName = keyof typeof schemas;
export const COMMAND_NAMES = Object.keys(schemas) as CommandName[];

export interface CommandResult {
  /** What --json prints. */
  json: unknown;
  /** What a person reads. */
  text: string;
  /** Per-item lines of long commands, for callers that showed no progress (the admin socket). */
  details?: string[];
  /** Non-zero when the command ran but part of it failed (e.g. some files were not imported). */
  exitCode?: number;
}

export function isCommandName(name: string): name is CommandName {
  return name in schemas;
}

function badOption(message: string): AppError {
  return new AppError({ type: 'invalid_request_error', code: 'invalid_option', status: 400, message });
}

export async function runCommand(
  services: CommandServices,
  name: CommandName,
  rawOptions: unknown,
  progress: Progress = silentProgress,
): Promise<CommandResult> {
  const parsed = schemas[name].safeParse(rawOptions);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const option = String(issue?.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const hint = option === 'scopes' ? ` (scopes: ${SCOPES.join(', ')})` : '';
    throw badOption(`--${option}: ${issue?.message ?? 'invalid'}${hint}`);
  }
  switch (name) {
    case 'workspace:create': {
      const w = await services.tenancy.createWorkspace({ name: (parsed.data as { name: string }).name });
      return {
        json: { id: w.id, object: 'workspace', name: w.name, created_at: iso(w.createdAt) },
        text: `Created workspace ${w.id} (${w.name})`,
      };
    }
    case 'workspace:list': {
      const list = await services.tenancy.listWorkspaces();
      return {
        json: { data: list.map((w) => ({ id: w.id, object: 'workspace', name: w.name, created_at: iso(w.createdAt) })) },
        text: list.map((w) => `${w.id}  ${w.name}`).join('\n') || 'No workspaces.',
      };
    }
    case 'number:add': {
      const opts = parsed.data as z.infer<(typeof schemas)['number:add']>;
      const n = await services.tenancy.addNumber({
        workspaceId: opts.workspace,
        phoneNumberId: opts.phoneNumberId,
        wabaId: opts.wabaId,
        displayNumber: opts.displayNumber ?? null,
        accessToken: opts.accessToken,
        appSecret: opts.appSecret,
        verifyToken: opts.verifyToken,
        messagesPerSecond: opts.mps,
        sandbox: opts.sandbox,
        source: 'cli',
      });
      return {
        json: serializeNumber(n),
        text: `Added number ${n.id} (phone_number_id ${n.phoneNumberId}${n.sandbox ? ', sandbox' : ''}) to ${n.workspaceId}`,
      };
    }
    case 'number:list': {
      const list = await services.tenancy.listNumbers((parsed.data as { workspace?: string }).workspace);
      return {
        json: { data: list.map(serializeNumber) },
        text:
          list.map((n) => `${n.id}  ${n.phoneNumberId}  ${n.displayNumber ?? ''}  ${n.workspaceId}`).join('\n') ||
          'No numbers.',
      };
    }
    case 'key:create': {
      const opts = parsed.data as z.infer<(typeof schemas)['key:create']>;
      await services.tenancy.getWorkspace(opts.workspace);
      const { record, plaintext } = await services.apiKeys.create({
        workspaceId: opts.workspace,
        name: opts.name,
        scopes: opts.scopes,
        mode: opts.test ? 'test' : 'live',
        source: 'cli',
      });
      return {
        json: { ...serializeApiKey(record), workspace_id: record.workspaceId, key: plaintext },
        text: `Created ${record.mode} key ${record.id} with scopes ${record.scopes.join(', ')}.\n` +
          `Key (shown once, store it now): ${plaintext}`,
      };
    }
    case 'key:list': {
      const list = await services.apiKeys.listAll({ workspaceId: (parsed.data as { workspace?: string }).workspace });
      return {
        json: { data: list.map((k) => ({ ...serializeApiKey(k), workspace_id: k.workspaceId })) },
        text:
          list
            .map((k) => `${k.id}  ${k.prefix}...${k.lastFour}  ${k.name}  ${k.revokedAt ? 'revoked' : 'active'}`)
            .join('\n') || 'No keys.',
      };
    }
    case 'key:revoke': {
      const k = await services.apiKeys.revoke((parsed.data as { id: string }).id);
      return {
        json: { ...serializeApiKey(k), workspace_id: k.workspaceId },
        text: `Revoked key ${k.id} (${k.prefix}...${k.lastFour})`,
      };
    }
    case 'knowledge:import':
      return importKnowledge(services, parsed.data as z.infer<(typeof schemas)['knowledge:import']>, progress);
    case 'knowledge:reindex':
      return reindexKnowledge(services, parsed.data as z.infer<(typeof schemas)['knowledge:reindex']>, progress);
  }
}

function serializeNumber(n: Awaited<ReturnType<Services['tenancy']['addNumber']>>) {
  return {
    id: n.id,
    object: 'phone_number',
    workspace_id: n.workspaceId,
    phone_number_id: n.phoneNumberId,
    waba_id: n.wabaId,
    display_number: n.displayNumber,
    messages_per_second: n.messagesPerSecond,
    sandbox: n.sandbox,
    created_at: iso(n.createdAt),
  };
}
