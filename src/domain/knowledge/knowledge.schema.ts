import { z } from 'zod';
import { listQuerySchema } from '../shared/pagination';

/** Request bodies and queries of the knowledge base API. */
const MAX_CONTENT = 2_000_000;

const tagsSchema = z
  .array(z.string().trim().min(1, { message: 'tags must not be empty strings' }).max(64, { message: 'a tag is at most 64 characters' }))
  .max(50, { message: 'at most 50 tags' });

const fields = {
  title: z.string().trim().min(1, { message: 'title is required' }).max(500, { message: 'title is at most 500 characters' }),
  content: z
    .string({ message: 'content is required' })
    .min(1, { message: 'content must not be empty' })
    .max(MAX_CONTENT, { message: `content is at most ${MAX_CONTENT} characters` })
    .refine((s) => s.trim().length > 0, { message: 'content must not be blank' }),
  content_type: z.enum(['text', 'markdown', 'html'], { message: 'content_type must be text, markdown or html' }),
  source_url: z.url({ protocol: /^https?$/, message: 'source_url must be an http(s) URL' }).max(2048).nullable(),
  tags: tagsSchema,
  active: z.boolean({ message: 'active must be true or false' }),
};

export const createDocumentSchema = z.strictObject({
  ...fields,
  content_type: fields.content_type.default('text'),
  source_url: fields.source_url.optional(),
  tags: fields.tags.default([]),
  active: fields.active.default(true),
});
export type CreateDocument = z.infer<typeof createDocumentSchema>;

/** No defaults here: a field left out of a PATCH keeps its value. */
export const patchDocumentSchema = z
  .strictObject(fields)
  .partial()
  .refine((p) => Object.keys(p).length > 0, { message: 'send at least one field to change' });
export type PatchDocument = z.infer<typeof patchDocumentSchema>;

export const listDocumentsQuery = listQuerySchema.extend({
  status: z.enum(['pending', 'indexing', 'ready', 'failed']).optional(),
  active: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  tag: z.string().max(64).optional(),
  q: z.string().max(200).optional(),
});

export const searchSchema = z.strictObject({
  query: z.string().trim().min(1, { message: 'query is required' }).max(2_000, { message: 'query is at most 2000 characters' }),
  limit: z.number().int().min(1).max(50, { message: 'limit must be an integer from 1 to 50' }).default(5),
});
