import type { IncomingMessage, ServerResponse } from 'node:http';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/**
 * Checking the gateway against its own OpenAPI document: a strict ajv (JSON Schema 2020-12, the
 * dialect of OpenAPI 3.1) that compiles the document's schemas, and a recorder that wraps the
 * HTTP app so that every response it sends is checked against the operation it answers: the
 * path and method must be documented, the status must be one of the operation's responses, the
 * content type one of that response's media types, a JSON body must validate against the schema
 * and the required headers must be there.
 */

type Json = Record<string, unknown>;
export type OpenApiDoc = Json & { paths: Record<string, Record<string, Json>>; components?: Json; webhooks?: Record<string, Record<string, Json>> };

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const COMPONENTS_ID = 'urn:openapi:components';
const COMPONENT_REF = '#/components/schemas/';

/** The value at a JSON pointer (`#/a/b~1c`), or undefined. */
export function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  const parts = ref.slice(1).split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let at: unknown = doc;
  for (const p of parts) {
    if (at === null || typeof at !== 'object' || !Object.prototype.hasOwnProperty.call(at, p)) return undefined;
    at = (at as Json)[p];
  }
  return at;
}

/** Follows `$ref`s to components (responses, parameters, headers). */
export function deref<T>(doc: OpenApiDoc, value: unknown): T {
  let v: unknown = value;
  for (let i = 0; i < 10 && v && typeof v === 'object' && typeof (v as Json).$ref === 'string'; i++) v = resolvePointer(doc, (v as Json).$ref as string);
  return v as T;
}

/** Every `$ref` string in the document, with where it is. */
export function collectRefs(value: unknown, at = '#'): { at: string; ref: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => collectRefs(v, `${at}/${i}`));
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value as Json).flatMap(([k, v]) =>
    k === '$ref' && typeof v === 'string' ? [{ at, ref: v }] : collectRefs(v, `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`),
  );
}

/** Component refs become refs into one schema resource holding the components as $defs. */
function rewrite(value: unknown, inComponents: boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => rewrite(v, inComponents));
  if (!value || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value as Json)) {
    if (k === '$ref' && typeof v === 'string' && v.startsWith(COMPONENT_REF)) {
      const name = v.slice(COMPONENT_REF.length);
      out[k] = inComponents ? `#/$defs/${name}` : `${COMPONENTS_ID}#/$defs/${name}`;
    } else {
      out[k] = rewrite(v, inComponents);
    }
  }
  return out;
}

/**
 * A strict ajv for the document's schemas: unknown keywords, formats and ill-typed schemas are
 * errors, except OpenAPI's own `example` annotation.
 */
export function createSchemaCompiler(doc: OpenApiDoc): { compile(schema: unknown): ValidateFunction; ajv: Ajv2020 } {
  // Union types (`type: ["string", "number"]`) are plain JSON Schema 2020-12, as OpenAPI 3.1 uses it.
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  addFormats(ajv);
  ajv.addKeyword({ keyword: 'example', schemaType: ['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'] });
  const schemas = ((doc.components ?? {}) as Json).schemas ?? {};
  ajv.addSchema({ $id: COMPONENTS_ID, $defs: rewrite(schemas, true) });
  const cache = new Map<unknown, ValidateFunction>();
  return {
    ajv,
    compile(schema) {
      let fn = cache.get(schema);
      if (!fn) {
        fn = ajv.compile(rewrite(schema, false) as Json);
        cache.set(schema, fn);
      }
      return fn;
    },
  };
}

/** Every schema of the document, named by where it is: components, parameters, bodies, responses, headers (paths and webhooks). */
export function documentSchemas(doc: OpenApiDoc): { at: string; schema: unknown }[] {
  const out: { at: string; schema: unknown }[] = [];
  const schemas = (((doc.components ?? {}) as Json).schemas ?? {}) as Json;
  for (const [name, s] of Object.entries(schemas)) out.push({ at: `components.schemas.${name}`, schema: s });
  const walk = (value: unknown, at: string) => {
    if (Array.isArray(value)) return value.forEach((v, i) => walk(v, `${at}[${i}]`));
    if (!value || typeof value !== 'object') return;
    for (const [k, v] of Object.entries(value as Json)) {
      if (k === 'schema' && v && typeof v === 'object') out.push({ at: `${at}.schema`, schema: v });
      else walk(v, `${at}.${k}`);
    }
  };
  walk(doc.paths, 'paths');
  walk(doc.webhooks ?? {}, 'webhooks');
  const components = (doc.components ?? {}) as Json;
  for (const section of ['responses', 'parameters', 'headers', 'requestBodies']) walk(components[section] ?? {}, `components.${section}`);
  return out;
}

export interface Operation {
  method: string;
  path: string;
  key: string;
  op: Json;
}

/** Every operation of `paths`, as `METHOD /path`. */
export function operationsOf(doc: OpenApiDoc): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    HTTP_METHODS.filter((m) => item[m]).map((m) => ({ method: m.toUpperCase(), path, key: `${m.toUpperCase()} ${path}`, op: item[m] as Json })),
  );
}

const templateRegex = (path: string) => new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}/?$`);

export interface Recorded {
  method: string;
  url: string;
  status: number;
  contentType: string;
  /** The operation answered (`METHOD /template`), when documented. */
  operation: string | undefined;
}

export interface ResponseRecorder {
  /** The app to hand to http.createServer or supertest: the app itself, with every response checked. */
  wrap(app: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void;
  /** What does not match the document, one line each. */
  problems: string[];
  recorded: Recorded[];
  /** Statuses seen per documented operation. */
  statuses(operation: string): number[];
}

/** Checks every response of a wrapped app against `doc` (see the file's comment). */
export function createResponseRecorder(doc: OpenApiDoc): ResponseRecorder {
  const compiler = createSchemaCompiler(doc);
  const operations = operationsOf(doc)
    .map((o) => ({ ...o, regex: templateRegex(o.path), params: (o.path.match(/\{/g) ?? []).length }))
    // A literal segment wins over a parameter (POST /v1/knowledge/search, not /v1/knowledge/{id}).
    .sort((a, b) => a.params - b.params);
  const problems: string[] = [];
  const recorded: Recorded[] = [];

  function check(method: string, url: string, status: number, headers: Record<string, unknown>, body: Buffer): void {
    const path = url.split('?')[0] ?? url;
    const contentType = String(headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const found = operations.find((o) => o.method === method && o.regex.test(path));
    recorded.push({ method, url, status, contentType, operation: found?.key });
    const where = `${method} ${path} -> ${status}`;
    if (!found) return void problems.push(`${where}: no documented operation`);
    const responses = (found.op.responses ?? {}) as Json;
    const response = deref<Json | undefined>(doc, (responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default) as Json | undefined);
    if (!response) return void problems.push(`${where}: status not documented for ${found.key} (documented: ${Object.keys(responses).join(', ')})`);
    for (const [name, h] of Object.entries((response.headers ?? {}) as Json)) {
      const header = deref<Json>(doc, h as Json);
      if (header.required && headers[name.toLowerCase()] === undefined) problems.push(`${where}: required header ${name} missing`);
    }
    const content = response.content as Record<string, Json> | undefined;
    if (!content) {
      if (body.length > 0) problems.push(`${where}: a body was sent, none is documented`);
      return;
    }
    const media = content[contentType] ?? content[`${contentType.split('/')[0]}/*`] ?? content['*/*'];
    if (!media) return void problems.push(`${where}: content type "${contentType}" not documented (documented: ${Object.keys(content).join(', ')})`);
    if (!/[/+]json$/.test(contentType) || !media.schema) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return void problems.push(`${where}: the body is not JSON`);
    }
    const validate = compiler.compile(media.schema);
    if (!validate(parsed)) {
      const errors = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${e.params ? JSON.stringify(e.params) : ''}`);
      problems.push(`${where}: body does not match the schema: ${errors.join('; ')}`);
    }
  }

  return {
    problems,
    recorded,
    statuses: (operation) => [...new Set(recorded.filter((r) => r.operation === operation).map((r) => r.status))].sort(),
    wrap(app) {
      return (req, res) => {
        // Taken now: a router mounted at a path rewrites req.url while it handles the request.
        const method = (req.method ?? 'GET').toUpperCase();
        const url = req.url ?? '/';
        const chunks: Buffer[] = [];
        const toBuffer = (chunk: unknown, encoding?: unknown) =>
          Buffer.isBuffer(chunk) ? chunk : typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : Buffer.from(chunk as Uint8Array);
        const write = res.write.bind(res) as (...args: unknown[]) => boolean;
        const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
        res.write = ((chunk: unknown, ...rest: unknown[]) => {
          if (chunk !== undefined && chunk !== null) chunks.push(toBuffer(chunk, rest[0]));
          return write(chunk, ...rest);
        }) as ServerResponse['write'];
        res.end = ((chunk?: unknown, ...rest: unknown[]) => {
          if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') chunks.push(toBuffer(chunk, rest[0]));
          return end(chunk, ...rest);
        }) as ServerResponse['end'];
        let done = false;
        const report = () => {
          if (done) return;
          done = true;
          // An open stream is reported when it closes; its status and type were fixed at the start.
          check(method, url, res.statusCode, res.getHeaders() as Record<string, unknown>, Buffer.concat(chunks));
        };
        res.on('finish', report);
        res.on('close', report);
        app(req, res);
      };
    },
  };
}

interface Layer {
  name?: string;
  rawPath?: unknown;
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

export interface AppRoute {
  /** GET, POST, ...; USE for a middleware mounted under a path (static files, a router's guard). */
  method: string;
  /** In OpenAPI form: `/v1/conversations/{id}`. */
  path: string;
  /** As express has it. */
  expressPath: string;
}

/**
 * Every route an express 5 app registers, by walking its router stack (nested routers included,
 * with their mount paths). Middleware mounted at a path other than `/` is listed as `USE`, since
 * it may answer requests itself (express.static does).
 */
export function expressRoutes(app: { router: { stack: Layer[] } }): AppRoute[] {
  const out: AppRoute[] = [];
  const join = (a: string, b: string) => (a + (b === '/' ? '' : b)).replace(/\/+/g, '/') || '/';
  const toOpenApi = (p: string) => p.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        const methods = Object.keys(layer.route.methods).filter((m) => layer.route?.methods[m]);
        for (const p of paths) {
          for (const m of methods) out.push({ method: m === '_all' ? 'ALL' : m.toUpperCase(), path: toOpenApi(join(prefix, p)), expressPath: join(prefix, p) });
        }
        continue;
      }
      const mount = typeof layer.rawPath === 'string' ? layer.rawPath : undefined;
      if (mount === undefined) {
        // A regexp or array mount path: listed as is, so that a test has to look at it.
        out.push({ method: 'USE', path: `${prefix}${String(layer.rawPath)}`, expressPath: `${prefix}${String(layer.rawPath)}` });
        continue;
      }
      if (layer.handle?.stack) walk(layer.handle.stack, join(prefix, mount));
      else if (mount !== '/') out.push({ method: 'USE', path: toOpenApi(join(prefix, mount)), expressPath: join(prefix, mount) });
    }
  };
  walk(app.router.stack, '');
  return out;
}
