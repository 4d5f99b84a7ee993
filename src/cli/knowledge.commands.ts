import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import type { Services } from '../composition';
import type { KnowledgeDocument } from '../domain/knowledge/knowledge.port';
import { createDocumentSchema } from '../domain/knowledge/knowledge.schema';
import type { IndexJob, KnowledgeService } from '../domain/knowledge/knowledge.service';
import type { WorkspaceRecord } from '../domain/tenancy/tenancy.port';
import { AppError } from '../lib/errors';
import { contentTypeOf, IMPORTABLE_EXTENSIONS, titleOf } from './knowledge-files';
import type { Progress } from './progress';

/**
 * `knowledge:import` and `knowledge:reindex`. The CLI has no queue workers, so documents are
 * indexed right here, one after the other; inside a gateway (admin socket) the same code runs.
 * The file contents always come from the CLI process (see knowledge-files.ts).
 */
interface KnowledgeDeps {
  tenancy: Services['tenancy'];
  knowledge: KnowledgeService;
}

const absolutePath = z.string().refine((p) => path.isAbsolute(p), { message: 'must be an absolute path' });

export const knowledgeSchemas = {
  'knowledge:import': z.object({
    workspace: z.string().min(1).optional(),
    tags: z
      .string()
      .transform((s) => [...new Set(s.split(',').map((t) => t.trim()).filter(Boolean))])
      .pipe(z.array(z.string().max(64, { message: 'a tag is at most 64 characters' })).max(50, { message: 'at most 50 tags' }))
      .optional(),
    files: z.array(z.object({ path: absolutePath, label: z.string(), content: z.string() })).default([]),
    unreadable: z.array(z.object({ path: absolutePath, label: z.string(), error: z.string() })).default([]),
    skipped: z.array(z.string()).default([]),
  }),
  'knowledge:reindex': z.object({
    workspace: z.string().min(1).optional(),
    onlyOtherModel: z.boolean().default(false),
  }),
} as const;

type ImportOptions = z.infer<(typeof knowledgeSchemas)['knowledge:import']>;
type ReindexOptions = z.infer<(typeof knowledgeSchemas)['knowledge:reindex']>;

export interface KnowledgeCommandResult {
  json: unknown;
  text: string;
  /** One line per file or document, for callers that could not show progress. */
  details: string[];
  exitCode: number;
}

async function resolveWorkspace(tenancy: KnowledgeDeps['tenancy'], id: string | undefined): Promise<WorkspaceRecord> {
  if (id !== undefined) return tenancy.getWorkspace(id);
  const all = await tenancy.listWorkspaces();
  const only = all[0];
  if (all.length === 1 && only) return only;
  const message =
    all.length === 0
      ? 'There is no workspace yet: create one with `workspace:create --name <name>`.'
      : `There are ${all.length} workspaces; choose one with --workspace <id>:\n` +
        all.map((w) => `  ${w.id}  ${w.name}`).join('\n');
  throw new AppError({ type: 'invalid_request_error', code: 'invalid_option', status: 400, message });
}

/** Documents imported from files before, by their file:// source. */
async function documentsBySource(knowledge: KnowledgeService, workspaceId: string): Promise<Map<string, KnowledgeDocument>> {
  const bySource = new Map<string, KnowledgeDocument>();
  let startingAfter: string | undefined;
  for (;;) {
    const page = await knowledge.list(workspaceId, {}, { limit: 200, startingAfter });
    for (const d of page.items) {
      if (d.sourceUrl?.startsWith('file:') && !bySource.has(d.sourceUrl)) bySource.set(d.sourceUrl, d);
    }
    startingAfter = page.items.at(-1)?.id;
    if (!page.hasMore || startingAfter === undefined) return bySource;
  }
}

type IndexResult = { outcome: 'indexed' | 'superseded' | 'missing'; chunks: number } | { outcome: 'failed'; error: string };

async function indexNow(knowledge: KnowledgeService, job: IndexJob): Promise<IndexResult> {
  try {
    return await knowledge.index(job);
  } catch (e) {
    const message = (e as Error).message;
    // As the queue worker does on its last attempt: the document shows why it is not searchable.
    await knowledge.markFailed(job, message).catch(() => undefined);
    return { outcome: 'failed', error: `indexing failed: ${message}` };
  }
}

interface FileResult {
  path: string;
  label: string;
  outcome: 'created' | 'updated' | 'unchanged' | 'failed';
  document: KnowledgeDocument | null;
  /** False when nothing needed indexing (unchanged, or only the tags changed). */
  indexed: boolean;
  chunks: number;
  error: string | null;
}

const sameTags = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

async function importFile(
  deps: KnowledgeDeps,
  workspaceId: string,
  existing: KnowledgeDocument | undefined,
  file: ImportOptions['files'][number],
  tags: string[] | undefined,
): Promise<Omit<FileResult, 'path' | 'label'>> {
  const failed = (error: string, document: KnowledgeDocument | null = null) =>
    ({ outcome: 'failed', document, indexed: false, chunks: 0, error }) as const;
  const type = contentTypeOf(file.path);
  if (!type) return failed(`not one of ${IMPORTABLE_EXTENSIONS.join(', ')}`);
  const parsed = createDocumentSchema.safeParse({
    title: titleOf(file.path, file.content, type),
    content: file.content,
    content_type: type,
    tags: tags ?? [],
  });
  if (!parsed.success) return failed(parsed.error.issues[0]?.message ?? 'invalid document');
  const { title, content, content_type } = parsed.data;

  let doc: KnowledgeDocument;
  let outcome: 'created' | 'updated' | 'unchanged';
  if (!existing) {
    doc = await deps.knowledge.create(workspaceId, { ...parsed.data, source_url: pathToFileURL(file.path).href }, { queue: false });
    outcome = 'created';
  } else {
    const contentChanged = existing.title !== title || existing.content !== content || existing.contentType !== content_type;
    const tagsChanged = tags !== undefined && !sameTags(existing.tags, tags);
    if (contentChanged || tagsChanged) {
      doc = (await deps.knowledge.update(workspaceId, existing.id, { title, content, content_type, ...(tags ? { tags } : {}) }, { queue: false })).document;
      outcome = 'updated';
    } else {
      doc = existing;
      // A document left pending or failed by an earlier run is indexed again.
      outcome = existing.status === 'ready' && existing.indexedVersion === existing.version ? 'unchanged' : 'updated';
    }
  }
  if (outcome === 'unchanged' || (doc.status === 'ready' && doc.indexedVersion === doc.version)) {
    return { outcome, document: doc, indexed: false, chunks: 0, error: null };
  }
  const r = await indexNow(deps.knowledge, { workspaceId, documentId: doc.id, version: doc.version });
  if (r.outcome === 'failed') return failed(r.error, doc);
  if (r.outcome === 'missing') return failed('the document was deleted while it was being indexed', doc);
  return { outcome, document: doc, indexed: true, chunks: r.chunks, error: null };
}

export async function importKnowledge(deps: KnowledgeDeps, opts: ImportOptions, progress: Progress): Promise<KnowledgeCommandResult> {
  const workspace = await resolveWorkspace(deps.tenancy, opts.workspace);
  const bySource = await documentsBySource(deps.knowledge, workspace.id);
  const results: FileResult[] = opts.unreadable.map((u) => ({
    ...u,
    outcome: 'failed',
    document: null,
    indexed: false,
    chunks: 0,
    error: u.error,
  }));
  const details = results.map((r) => `failed     ${r.label}: ${r.error}`);

  progress.start(opts.files.length);
  try {
    for (const file of opts.files) {
      progress.working(file.label);
      const existing = bySource.get(pathToFileURL(file.path).href);
      const r = await importFile(deps, workspace.id, existing, file, opts.tags).catch((e: Error) => ({
        outcome: 'failed' as const,
        document: null,
        indexed: false,
        chunks: 0,
        error: e.message,
      }));
      results.push({ path: file.path, label: file.label, ...r });
      const line =
        r.outcome === 'failed'
          ? `failed     ${file.label}: ${r.error}`
          : `${r.outcome.padEnd(10)} ${file.label}` +
            (r.document ? ` → ${r.document.id}` : '') +
            (r.indexed ? ` (${r.chunks} chunk${r.chunks === 1 ? '' : 's'})` : r.outcome === 'updated' ? ' (tags only)' : '');
      details.push(line);
      progress.done(line);
    }
  } finally {
    progress.stop();
  }
  for (const s of opts.skipped) details.push(`skipped    ${s}`);

  const count = (o: FileResult['outcome']) => results.filter((r) => r.outcome === o).length;
  const failures = results.filter((r) => r.outcome === 'failed');
  const chunks = results.reduce((n, r) => n + r.chunks, 0);
  const lines = [
    `Imported into ${workspace.id} (${workspace.name}): created ${count('created')}, updated ${count('updated')}, ` +
      `unchanged ${count('unchanged')}, skipped ${opts.skipped.length}, failed ${failures.length}; ` +
      `${chunks} chunk${chunks === 1 ? '' : 's'} indexed.`,
  ];
  if (opts.skipped.length > 0) {
    lines.push(`Skipped (only ${IMPORTABLE_EXTENSIONS.join(', ')} files are imported):`, ...opts.skipped.map((s) => `  ${s}`));
  }
  if (failures.length > 0) lines.push('Failed:', ...failures.map((f) => `  ${f.label}: ${f.error}`));

  return {
    json: {
      object: 'knowledge_import',
      workspace_id: workspace.id,
      created: count('created'),
      updated: count('updated'),
      unchanged: count('unchanged'),
      skipped: opts.skipped.length,
      failed: failures.length,
      chunks_indexed: chunks,
      files: results.map((r) => ({
        path: r.path,
        outcome: r.outcome,
        document_id: r.document?.id ?? null,
        title: r.document?.title ?? null,
        content_type: r.document?.contentType ?? null,
        chunks: r.chunks,
        error: r.error,
      })),
      skipped_files: opts.skipped,
    },
    text: lines.join('\n'),
    details,
    exitCode: failures.length > 0 ? 1 : 0,
  };
}

function documentLabel(doc: KnowledgeDocument | null, id: string): string {
  if (doc?.sourceUrl?.startsWith('file:')) {
    try {
      return path.basename(fileURLToPath(doc.sourceUrl));
    } catch {
      // not a local path; fall through to the title
    }
  }
  return doc ? `${doc.title} (${id})` : id;
}

export async function reindexKnowledge(deps: KnowledgeDeps, opts: ReindexOptions, progress: Progress): Promise<KnowledgeCommandResult> {
  if (opts.workspace !== undefined) await deps.tenancy.getWorkspace(opts.workspace);
  const jobs = await deps.knowledge.reindexAll(opts.workspace ?? null, { onlyOtherModel: opts.onlyOtherModel, queue: false });
  const results: { job: IndexJob; title: string | null; result: IndexResult }[] = [];
  const details: string[] = [];
  progress.start(jobs.length);
  try {
    for (const job of jobs) {
      const doc = await deps.knowledge.get(job.workspaceId, job.documentId).catch(() => null);
      const label = documentLabel(doc, job.documentId);
      progress.working(label);
      const result = await indexNow(deps.knowledge, job);
      results.push({ job, title: doc?.title ?? null, result });
      const line =
        result.outcome === 'failed'
          ? `failed     ${label}: ${result.error}`
          : result.outcome === 'indexed'
            ? `reindexed  ${label} (${result.chunks} chunk${result.chunks === 1 ? '' : 's'})`
            : `skipped    ${label}: ${result.outcome === 'missing' ? 'deleted' : 'changed'} meanwhile`;
      details.push(line);
      progress.done(line);
    }
  } finally {
    progress.stop();
  }

  const indexed = results.filter((r) => r.result.outcome === 'indexed');
  const failed = results.filter((r) => r.result.outcome === 'failed');
  const chunks = indexed.reduce((n, r) => n + (r.result.outcome === 'indexed' ? r.result.chunks : 0), 0);
  const scope = opts.workspace ? `in ${opts.workspace}` : 'in all workspaces';
  const lines =
    jobs.length === 0
      ? [`No documents to reindex ${scope}${opts.onlyOtherModel ? ' (all use the current embedding model)' : ''}.`]
      : [`Reindexed ${indexed.length} of ${jobs.length} documents ${scope}: ${chunks} chunk${chunks === 1 ? '' : 's'} indexed, ${failed.length} failed.`];
  const others = jobs.length - indexed.length - failed.length;
  if (others > 0) lines.push(`${others} changed or were deleted meanwhile and were left as they are.`);
  if (failed.length > 0) {
    lines.push('Failed:', ...failed.map((f) => `  ${f.title ?? f.job.documentId} (${f.job.documentId}): ${f.result.outcome === 'failed' ? f.result.error : ''}`));
  }
  return {
    json: {
      object: 'knowledge_reindex',
      workspace_id: opts.workspace ?? null,
      only_other_model: opts.onlyOtherModel,
      documents: jobs.length,
      reindexed: indexed.length,
      failed: failed.length,
      chunks_indexed: chunks,
      results: results.map((r) => ({
        document_id: r.job.documentId,
        workspace_id: r.job.workspaceId,
        title: r.title,
        version: r.job.version,
        outcome: r.result.outcome,
        chunks: r.result.outcome === 'failed' ? 0 : r.result.chunks,
        error: r.result.outcome === 'failed' ? r.result.error : null,
      })),
    },
    text: lines.join('\n'),
    details,
    exitCode: failed.length > 0 ? 1 : 0,
  };
}
