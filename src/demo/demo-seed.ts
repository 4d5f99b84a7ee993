import { randomBytes } from 'node:crypto';
import type { Config } from '../config/env';
import type { KnowledgeService } from '../domain/knowledge/knowledge.service';
import type { ApiKeysService } from '../domain/keys/api-keys.service';
import { SCOPES } from '../domain/keys/scopes';
import type { TemplatesRepo } from '../domain/templates/templates.port';
import type { PhoneNumber, TenancyService } from '../domain/tenancy/tenancy.service';
import type { WorkspaceRecord } from '../domain/tenancy/tenancy.port';
import type { Logger } from '../lib/logger';
import { DEMO_AGENT_SETTINGS, DEMO_DISPLAY_NUMBER, DEMO_TEMPLATE, DEMO_WORKSPACE } from './coffee-shop';
import { DEMO_DOCUMENTS, demoDocumentContent } from './coffee-shop.knowledge';

/**
 * The demo workspace of a first start: with the embedded database and nothing configured yet,
 * `npm start` seeds a coffee shop (knowledge base, persona, an approved template, a sandbox
 * number) and mints an admin key, which main.ts prints once. Everything goes through the same
 * services as the CLI and the API, so the documents are indexed by the usual queue job.
 *
 * Crash safety: the steps are each idempotent and the marker (workspaces.settings.demo) is
 * written last. A start that finds the demo workspace without the marker finishes the seed
 * (creating only what is missing and revoking the key minted by the interrupted start, which
 * nobody saw); a start that finds the marker, or any other workspace, seeds nothing.
 */
export interface DemoSeedDeps {
  tenancy: Pick<TenancyService, 'listWorkspaces' | 'createWorkspace' | 'setWorkspaceSetting' | 'listNumbers' | 'addNumber'>;
  apiKeys: Pick<ApiKeysService, 'create' | 'listAll' | 'revoke'>;
  knowledge: Pick<KnowledgeService, 'create' | 'list'>;
  templates: Pick<TemplatesRepo, 'replaceCatalog'>;
  logger: Logger;
}

export type DemoSeedConfig = Pick<Config, 'demoSeed' | 'databaseUrl' | 'adminApiKey'> & {
  whatsapp: Pick<Config['whatsapp'], 'singleNumber'>;
};

export type DemoSeedOutcome =
  | { seeded: false; reason: string }
  | {
      seeded: true;
      /** True when this start finished a seed that an earlier start left unfinished. */
      resumed: boolean;
      workspace: WorkspaceRecord;
      number: PhoneNumber;
      documents: number;
      template: string;
      /** The plaintext admin key (every scope): print it once, never log it. */
      apiKey: string;
    };

export const DEMO_MARKER_SETTING = 'demo';
export const DEMO_KEY_NAME = 'Demo admin key';
export const DEMO_TAG = 'demo';

/** Why this configuration never seeds the demo, or null when it may (on an empty database). */
export function demoSeedSkipReason(config: DemoSeedConfig): string | null {
  if (config.demoSeed === 'off') return 'DEMO_SEED=off';
  if (config.databaseUrl) return 'DATABASE_URL is set (the demo is seeded only into the embedded database)';
  if (config.whatsapp.singleNumber) return 'the WHATSAPP_* variables configure a number';
  if (config.adminApiKey) return 'ADMIN_API_KEY is set';
  return null;
}

const isMarked = (w: WorkspaceRecord) => {
  const marker = w.settings[DEMO_MARKER_SETTING];
  return typeof marker === 'object' && marker !== null && 'seeded_at' in marker;
};

/** A numeric id shaped like Meta's (15 digits), random so that it never collides with a real one. */
function metaLikeId(): string {
  return `9${Array.from(randomBytes(14), (b) => String(b % 10)).join('')}`;
}

const secret = () => randomBytes(24).toString('base64url');

export async function seedDemo(deps: DemoSeedDeps, config: DemoSeedConfig): Promise<DemoSeedOutcome> {
  const skip = demoSeedSkipReason(config);
  if (skip) return { seeded: false, reason: skip };

  const workspaces = await deps.tenancy.listWorkspaces();
  let workspace = workspaces.find((w) => w.slug === DEMO_WORKSPACE.slug);
  if (workspace && isMarked(workspace)) return { seeded: false, reason: 'the demo workspace was seeded by an earlier start' };
  if (!workspace && workspaces.length > 0) return { seeded: false, reason: 'the database already has workspaces' };
  const resumed = workspace !== undefined;
  workspace ??= await deps.tenancy.createWorkspace({ name: DEMO_WORKSPACE.name, slug: DEMO_WORKSPACE.slug });
  const workspaceId = workspace.id;

  // A sandbox number: served by the built-in simulator, never by Meta. Its secrets are random
  // and sealed like any number's; there is no Meta access token to have.
  const number =
    (await deps.tenancy.listNumbers(workspaceId)).find((n) => n.sandbox) ??
    (await deps.tenancy.addNumber({
      workspaceId,
      phoneNumberId: metaLikeId(),
      wabaId: metaLikeId(),
      displayNumber: DEMO_DISPLAY_NUMBER,
      accessToken: `sandbox-${secret()}`,
      appSecret: secret(),
      verifyToken: secret(),
      sandbox: true,
      source: 'demo',
    }));

  await deps.templates.replaceCatalog(workspaceId, number.wabaId, [{ ...DEMO_TEMPLATE, metaTemplateId: metaLikeId() }]);
  await deps.tenancy.setWorkspaceSetting(workspaceId, 'agent', DEMO_AGENT_SETTINGS);

  const existing = await deps.knowledge.list(workspaceId, { tag: DEMO_TAG }, { limit: 200 });
  const titles = new Set(existing.items.map((d) => d.title));
  for (const d of DEMO_DOCUMENTS) {
    if (titles.has(d.title)) continue;
    await deps.knowledge.create(workspaceId, {
      title: d.title,
      content: demoDocumentContent(d),
      content_type: 'markdown',
      tags: [DEMO_TAG],
      active: true,
    });
  }

  // A key minted by an interrupted seed was never shown to anyone: revoke it.
  for (const k of await deps.apiKeys.listAll({ workspaceId })) {
    if (k.source === 'demo' && k.revokedAt === null) await deps.apiKeys.revoke(k.id, workspaceId);
  }
  const key = await deps.apiKeys.create({ workspaceId, name: DEMO_KEY_NAME, scopes: [...SCOPES], mode: 'live', source: 'demo' });

  const marked = await deps.tenancy.setWorkspaceSetting(workspaceId, DEMO_MARKER_SETTING, { seeded_at: new Date().toISOString() });
  deps.logger.info(
    { workspace_id: workspaceId, number_id: number.id, documents: DEMO_DOCUMENTS.length, template: DEMO_TEMPLATE.name, key_id: key.record.id, resumed },
    'demo workspace seeded',
  );
  return {
    seeded: true,
    resumed,
    workspace: marked,
    number,
    documents: DEMO_DOCUMENTS.length,
    template: DEMO_TEMPLATE.name,
    apiKey: key.plaintext,
  };
}
