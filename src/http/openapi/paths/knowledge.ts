import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { agentSettingsSchema, agentSettingsViewSchema } from '../../../domain/agent/agent-settings';
import { knowledgeGapSchema } from '../../../domain/agent/knowledge-gap-view';
import { queryAnswerSchema, querySchema } from '../../../domain/agent/query.service';
import { createDocumentSchema, listDocumentsQuery, patchDocumentSchema, searchSchema } from '../../../domain/knowledge/knowledge.schema';
import { usageSchema } from '../../../domain/usage/usage-view';
import { gapsQuery, usageQuery } from '../../routes/agent.route';
import { knowledgeChunkSchema, knowledgeDocumentSchema } from '../../routes/knowledge.route';
import { deletedSchema, listSchema } from '../../serialize';
import { apiOperation, eventStream, idParam } from '../common';

const tags = ['Knowledge'];
const documentId = z.object({ id: idParam('document', 'document') });
const documentListSchema = listSchema(knowledgeDocumentSchema, 'KnowledgeDocumentList');
const chunkListSchema = listSchema(knowledgeChunkSchema, 'KnowledgeChunkList');
const gapListSchema = listSchema(knowledgeGapSchema, 'KnowledgeGapList');

const queryStreamExample = [
  'event: delta',
  'data: {"text":"We open at "}',
  '',
  'event: delta',
  'data: {"text":"8 am."}',
  '',
  'event: final',
  'data: {"object":"query_answer","answer":"We open at 8 am.","confidence":0.92,"extractive":false,"model":"gpt-4o-mini","sources":[],"handoff":{"requested":false,"reason":null},"usage":{"input_tokens":412,"output_tokens":9}}',
  '',
].join('\n');

export const knowledgePaths: ZodOpenApiPathsObject = {
  '/v1/knowledge': {
    post: apiOperation({
      operationId: 'createDocument',
      summary: 'Add a document',
      description: 'Indexed in the background: `status` is `pending`, then `ready` (or `failed` with `error`).',
      tags,
      scopes: ['knowledge:write'],
      body: createDocumentSchema,
      idempotent: true,
      answers: { 202: { description: 'Stored; indexing has started.', schema: knowledgeDocumentSchema } },
    }),
    get: apiOperation({
      operationId: 'listDocuments',
      summary: 'List documents',
      description: 'Without their content.',
      tags,
      scopes: ['knowledge:read'],
      query: listDocumentsQuery,
      answers: { 200: { description: 'A page of documents.', schema: documentListSchema } },
    }),
  },
  '/v1/knowledge/search': {
    post: apiOperation({
      operationId: 'searchKnowledge',
      summary: 'Search the knowledge base',
      description: 'The hybrid retrieval the agent uses: pgvector cosine ranking and Postgres full-text ranking fused by reciprocal rank.',
      tags,
      scopes: ['knowledge:read'],
      body: searchSchema,
      answers: { 200: { description: 'Ranked passages (one page, `has_more` false).', schema: chunkListSchema } },
    }),
  },
  '/v1/knowledge/{id}': {
    get: apiOperation({
      operationId: 'getDocument',
      summary: 'Get a document',
      tags,
      scopes: ['knowledge:read'],
      path: documentId,
      answers: { 200: { description: 'The document, with its content.', schema: knowledgeDocumentSchema } },
    }),
    patch: apiOperation({
      operationId: 'updateDocument',
      summary: 'Change a document',
      description: 'A new title, content or type makes a new version (202), whose chunks replace the old ones atomically once indexed. `active: false` hides it from the agent at once.',
      tags,
      scopes: ['knowledge:write'],
      path: documentId,
      body: patchDocumentSchema,
      answers: {
        200: { description: 'Changed (nothing to re-index).', schema: knowledgeDocumentSchema },
        202: { description: 'Changed; the new version is being indexed.', schema: knowledgeDocumentSchema },
      },
    }),
    delete: apiOperation({
      operationId: 'deleteDocument',
      summary: 'Delete a document',
      description: 'With its chunks.',
      tags,
      scopes: ['knowledge:write'],
      path: documentId,
      answers: { 200: { description: 'Deleted.', schema: deletedSchema('knowledge_document', 'DeletedKnowledgeDocument') } },
    }),
  },
  '/v1/query': {
    post: apiOperation({
      operationId: 'queryAgent',
      summary: 'Ask the agent',
      description:
        'The same retrieval, model and handoff rules as on WhatsApp; nothing is stored or sent. With `stream: true` the answer comes as Server-Sent Events: `delta` events (`{text}`), then one `final` event with the whole answer (an `error` event if it fails midway).',
      tags: ['Agent'],
      scopes: ['agent:query'],
      body: querySchema,
      answers: {
        200: {
          description: 'The answer (JSON), or its stream with `stream: true`.',
          content: {
            'application/json': { schema: queryAnswerSchema },
            ...eventStream('Server-Sent Events: `delta` (`{"text": ...}`), then `final` (a `QueryAnswer`).', queryStreamExample),
          },
        },
      },
    }),
  },
  '/v1/agent/settings': {
    get: apiOperation({
      operationId: 'getAgentSettings',
      summary: "The agent's settings",
      description: "The workspace's values over the configured defaults.",
      tags: ['Agent'],
      scopes: ['agent:query'],
      answers: { 200: { description: 'The resolved settings.', schema: agentSettingsViewSchema } },
    }),
    patch: apiOperation({
      operationId: 'updateAgentSettings',
      summary: "Change the agent's settings",
      description: 'Any subset; `persona` is merged field by field.',
      tags: ['Agent'],
      scopes: ['knowledge:write'],
      body: agentSettingsSchema,
      answers: { 200: { description: 'The resolved settings.', schema: agentSettingsViewSchema } },
    }),
  },
  '/v1/knowledge-gaps': {
    get: apiOperation({
      operationId: 'listKnowledgeGaps',
      summary: 'Questions the agent could not answer',
      description: 'Most asked first.',
      tags: ['Agent'],
      scopes: ['knowledge:read'],
      query: gapsQuery,
      answers: { 200: { description: 'A page of knowledge gaps.', schema: gapListSchema } },
    }),
  },
  '/v1/usage': {
    get: apiOperation({
      operationId: 'getUsage',
      summary: 'Usage and estimated cost',
      description: '`from` and `to` default to the last 30 days.',
      tags: ['Agent'],
      scopes: ['usage:read'],
      query: usageQuery,
      answers: { 200: { description: 'Tokens and cost by model, answers, handoffs, messages.', schema: usageSchema } },
    }),
  },
};
