import { z } from 'zod';

/** Every scope an API key can hold. One enum: routes, CLI and docs all read it from here. */
export const SCOPES = [
  'messages:send',
  'messages:read',
  'conversations:read',
  'conversations:write',
  'templates:read',
  'templates:write',
  'knowledge:read',
  'knowledge:write',
  'agent:query',
  'webhooks:manage',
  'keys:manage',
  'usage:read',
] as const;

export const scopeSchema = z.enum(SCOPES);
export type Scope = z.infer<typeof scopeSchema>;
export const KEY_MODES = ['live', 'test'] as const;
export type KeyMode = (typeof KEY_MODES)[number];
