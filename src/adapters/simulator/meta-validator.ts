import Ajv2020, { type ErrorObject } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { z } from 'zod';
import { MetaError } from './meta-errors';
import messageSchema from './meta-message-schema.json';

/**
 * Request validation as the Cloud API does it. Send bodies are checked against Meta's own
 * `Message` schema (extracted from Meta's OpenAPI spec by scripts/extract-meta-simulator-schema.ts)
 * plus the few rules the live API enforces that the spec leaves out (a text needs a body of at
 * most 4,096 characters, a location its coordinates, a reaction its message id, reply buttons
 * and list rows unique ids). A refusal is Meta's error 100 with what is wrong in
 * `error_data.details`, worded like Meta's ("Param text['body'] ...").
 */
const SCHEMA_ID = 'meta-message';

export type SendBody = Record<string, unknown> & { to: string; type: string; recipient_type: string };

/** Mark-as-read and the typing indicator: only an example in the spec, so written from Meta's docs. */
export const readBodySchema = z.strictObject({
  messaging_product: z.literal('whatsapp'),
  status: z.literal('read'),
  message_id: z.string().min(1).max(512),
  typing_indicator: z.strictObject({ type: z.literal('text') }).optional(),
});
export type ReadBody = z.infer<typeof readBodySchema>;

/** JSON pointer /a/0/b -> Meta's parameter notation a[0]['b']. */
function param(pointer: string, extra?: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  if (parts.length === 0) return 'body';
  return parts.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `['${p}']`)).join('');
}

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `The parameter ${param(e.instancePath, String(p.missingProperty))} is required.`;
    case 'additionalProperties':
      return `Param ${param(e.instancePath, String(p.additionalProperty))} is not a valid parameter.`;
    case 'unevaluatedProperties':
      return `Param ${param(e.instancePath, String(p.unevaluatedProperty))} is not a valid parameter.`;
    case 'enum':
      return `Param ${param(e.instancePath)} must be one of {${(p.allowedValues as unknown[]).map(String).join(', ')}}.`;
    case 'type':
      return `Param ${param(e.instancePath)} must be ${/^[aeiou]/.test(String(p.type)) ? 'an' : 'a'} ${String(p.type)}.`;
    case 'maxLength':
      return `Param ${param(e.instancePath)} must be at most ${String(p.limit)} characters long.`;
    case 'minLength':
      return `Param ${param(e.instancePath)} must be at least ${String(p.limit)} characters long.`;
    case 'maxItems':
      return `Param ${param(e.instancePath)} must have at most ${String(p.limit)} element${p.limit === 1 ? '' : 's'}.`;
    case 'minItems':
      return `Param ${param(e.instancePath)} must have at least ${String(p.limit)} element${p.limit === 1 ? '' : 's'}.`;
    case 'pattern':
    case 'format':
      return `Param ${param(e.instancePath)} is not valid.`;
    default:
      return `Param ${param(e.instancePath)} ${e.message ?? 'is not valid'}.`;
  }
}

/**
 * Nested oneOf schemas (a media object is an id or a link; an action is buttons, or a list, or
 * ...) report the failures of every alternative. Where an alternative got further (an error below
 * the oneOf), only that is told; otherwise the alternatives' missing parameters are named together.
 */
function explain(errors: ErrorObject[]): string[] {
  const out: string[] = [];
  const oneOfs = errors.filter((e) => e.keyword === 'oneOf');
  const consumed = new Set<ErrorObject>();
  for (const o of oneOfs) {
    consumed.add(o);
    const at = errors.filter((e) => e !== o && e.instancePath === o.instancePath);
    const deeper = errors.filter((e) => e.instancePath.startsWith(`${o.instancePath}/`));
    for (const e of at) consumed.add(e);
    if (deeper.length > 0) continue;
    const passing = (o.params as { passingSchemas?: unknown }).passingSchemas;
    if (Array.isArray(passing)) out.push(`Param ${param(o.instancePath)} must use only one of its alternatives.`);
    else {
      const missing = at.filter((e) => e.keyword === 'required').map((e) => param(e.instancePath, String((e.params as { missingProperty?: unknown }).missingProperty)));
      out.push(missing.length ? `One of the parameters ${missing.join(', ')} is required.` : `Param ${param(o.instancePath)} is not valid.`);
    }
  }
  for (const e of errors) if (!consumed.has(e)) out.push(describe(e));
  return out;
}

const uniq = <T>(xs: T[]) => new Set(xs).size === xs.length;

/** What the live API refuses beyond the spec's schema. */
function liveRules(body: Record<string, unknown>): string[] {
  const out: string[] = [];
  const obj = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  const type = body.type;
  if (typeof body.messaging_product === 'string' && body.messaging_product !== 'whatsapp') {
    out.push('Param messaging_product must be whatsapp.');
  }
  if (typeof body.to === 'string' && body.recipient_type !== 'group' && !/^\+?[0-9][0-9 ()-]{3,30}$/.test(body.to.trim())) {
    out.push("Param to must be a valid phone number.");
  }
  const payload = typeof type === 'string' ? obj(body[type]) : undefined;
  if (type === 'text' && payload) {
    if (payload.body === undefined || payload.body === '') out.push("The parameter text['body'] is required.");
    else if (typeof payload.body === 'string' && payload.body.length > 4096) out.push("Param text['body'] must be at most 4096 characters long.");
  }
  if (type === 'location' && payload) {
    for (const k of ['latitude', 'longitude']) {
      const v = Number(payload[k]);
      if (payload[k] === undefined) out.push(`The parameter location['${k}'] is required.`);
      else if (!Number.isFinite(v) || Math.abs(v) > (k === 'latitude' ? 90 : 180)) out.push(`Param location['${k}'] is not a valid coordinate.`);
    }
  }
  if (type === 'reaction' && payload && typeof payload.message_id !== 'string') out.push("The parameter reaction['message_id'] is required.");
  const action = obj(obj(body.interactive)?.action);
  if (type === 'interactive' && action) {
    const buttons = Array.isArray(action.buttons) ? action.buttons.map((b) => obj(obj(b)?.reply)) : [];
    if (buttons.length && !uniq(buttons.map((b) => String(b?.id)))) out.push("Param interactive['action']['buttons'] must have unique ids.");
    if (buttons.length && !uniq(buttons.map((b) => String(b?.title)))) out.push("Param interactive['action']['buttons'] must have unique titles.");
    const rows = Array.isArray(action.sections) ? action.sections.flatMap((s) => (Array.isArray(obj(s)?.rows) ? (obj(s)?.rows as unknown[]) : [])) : [];
    if (rows.length > 10) out.push("Param interactive['action']['sections'] must have at most 10 rows in all.");
    if (rows.length && !uniq(rows.map((r) => String(obj(r)?.id)))) out.push("Param interactive['action']['sections'] must have unique row ids.");
  }
  return out;
}

export interface MetaValidator {
  /** Throws Meta's error 100 unless the body is a message Meta would accept. */
  send(body: unknown): SendBody;
  /** Throws Meta's error 100 unless the body is a mark-as-read (optionally with a typing indicator). */
  read(body: unknown): ReadBody;
  /** The problems with a send body, worded like Meta's details (empty when it is valid). */
  problems(body: unknown): string[];
}

export function createMetaValidator(): MetaValidator {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  // The spec says `format: url`, which is not a JSON Schema format; Meta means an absolute URL.
  ajv.addFormat('url', (v: string) => /^https?:\/\/\S+$/.test(v));
  ajv.addSchema({ ...messageSchema, $id: SCHEMA_ID });
  const schema = (name?: string) => {
    const v = ajv.getSchema(name ? `${SCHEMA_ID}#/$defs/${name}` : SCHEMA_ID);
    if (!v) throw new Error(`the extracted Meta schema has no ${name ?? 'root'}`);
    return v;
  };
  const whole = schema();
  const base = schema('BaseMessageProperties');
  // Message is a oneOf over the message types, so the errors of the whole say that every branch
  // failed. The branch of the body's own `type` says what is wrong with it.
  const branches = new Map<string, ReturnType<typeof schema>>();
  for (const ref of (messageSchema.$defs.Message.oneOf as { $ref: string }[]).map((r) => r.$ref.replace('#/$defs/', ''))) {
    branches.set(ref.replace(/Message$/, '').toLowerCase(), schema(ref));
  }

  function schemaProblems(body: Record<string, unknown>): string[] {
    if (whole(body)) return [];
    const branch = typeof body.type === 'string' ? branches.get(body.type) : undefined;
    if (branch) return branch(body) ? [] : explain(branch.errors ?? []);
    const own = base(body) ? [] : explain(base.errors ?? []);
    if (body.type !== undefined) own.push(`Param type must be one of {${[...branches.keys()].join(', ')}}.`);
    return own;
  }

  function problems(body: unknown): string[] {
    if (!body || typeof body !== 'object' || Array.isArray(body)) return ['The request body must be a JSON object.'];
    const record = body as Record<string, unknown>;
    return [...new Set([...schemaProblems(record), ...liveRules(record)])];
  }

  const refuse = (found: string[]) => {
    const first = found[0] ?? 'Invalid parameter';
    // Meta names a missing parameter in the message itself; anything else is "Invalid parameter".
    const message = /^The parameter .* is required\.$/.test(first) ? first : 'Invalid parameter';
    return new MetaError(100, { message, details: found.slice(0, 10).join(' ') });
  };

  return {
    problems,
    send(body) {
      const found = problems(body);
      if (found.length > 0) throw refuse(found);
      return body as SendBody;
    },
    read(body) {
      const r = readBodySchema.safeParse(body);
      if (r.success) return r.data;
      const issue = r.error.issues[0];
      const path = (issue?.path ?? []).map(String);
      const name = path.length ? param(`/${path.join('/')}`) : 'body';
      const missing = issue?.code === 'invalid_type' && issue.input === undefined;
      const key = issue?.code === 'unrecognized_keys' ? param(`/${path.join('/')}`, issue.keys[0]) : undefined;
      throw refuse([missing ? `The parameter ${name} is required.` : key ? `Param ${key} is not a valid parameter.` : `Param ${name} is not valid.`]);
    },
  };
}
