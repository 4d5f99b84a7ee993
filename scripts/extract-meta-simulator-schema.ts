// Extracts what the Cloud API simulator (src/adapters/simulator) validates requests against from
// Meta's OpenAPI spec (MIT License, Copyright (c) Meta Platforms, Inc. and affiliates): the
// `Message` schema (bodies of POST /{phone-number-id}/messages) and everything it references, as
// one JSON Schema 2020-12 document that ajv compiles. The spec's MIT notice travels with it.
//
// The spec's quirks are fixed here and nowhere else (see shared/reference/meta-openapi/NOTES.md):
// - `additionalProperties: false` inside allOf members rejects the members' own properties; it
//   moves to the parent as `unevaluatedProperties: false`;
// - the interactive `type` enum and the action schema lack `cta_url`, which Meta documents and
//   accepts (shared/reference/whatsapp-cloud-api.md, section 5);
// - the template button `index` pattern `^[2-6, 11-14]$` is a character class that refuses index
//   0; its own description says "Position index of the button (0-9)".
//
// Run: npx tsx scripts/extract-meta-simulator-schema.ts [spec.yaml] [LICENSE]
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const referenceDir = path.resolve(__dirname, '../../shared/reference/meta-openapi');
const specFile = process.argv[2] ?? path.join(referenceDir, 'business-messaging-api_v23.0.yaml');
const licenseFile = process.argv[3] ?? path.join(path.dirname(specFile), 'LICENSE');
const target = path.resolve(__dirname, '../src/adapters/simulator/meta-message-schema.json');

const doc = parse(fs.readFileSync(specFile, 'utf8'), { maxAliasCount: -1 }) as {
  info?: { version?: string };
  components: { schemas: Record<string, Json> };
};
const license = fs.readFileSync(licenseFile, 'utf8').trim();
if (!/MIT License/.test(license) || !/Meta Platforms/.test(license)) throw new Error(`${licenseFile} is not Meta's MIT notice`);
const all = doc.components.schemas;
const defs: Record<string, Json> = {};

function rewrite(node: Json): Json {
  if (Array.isArray(node)) return node.map(rewrite);
  if (node && typeof node === 'object') {
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(node)) {
      // Documentation only: ajv does not need it and it would bloat the file.
      if (k === 'discriminator' || k === 'example' || k === 'examples' || k === 'description') continue;
      if (k === '$ref' && typeof v === 'string') {
        const name = v.replace('#/components/schemas/', '');
        collect(name);
        out.$ref = `#/$defs/${name}`;
        continue;
      }
      out[k] = rewrite(v);
    }
    if (Array.isArray(out.allOf)) {
      let closed = false;
      out.allOf = (out.allOf as Json[]).map((m) => {
        if (m && typeof m === 'object' && !Array.isArray(m) && m.additionalProperties === false) {
          closed = true;
          const { additionalProperties: _drop, ...rest } = m;
          return rest;
        }
        return m;
      });
      if (closed) out.unevaluatedProperties = false;
    }
    return out;
  }
  return node;
}

function collect(name: string): void {
  if (name in defs) return;
  const schema = all[name];
  if (schema === undefined) throw new Error(`the spec has no schema ${name}`);
  defs[name] = null;
  defs[name] = rewrite(schema);
}

collect('Message');

const interactive = defs.InteractiveObject as { properties: { type: { enum: string[] } } };
if (!interactive.properties.type.enum.includes('cta_url')) interactive.properties.type.enum.push('cta_url');
(defs.ActionObject as { oneOf: Json[] }).oneOf.push({
  required: ['name', 'parameters'],
  properties: {
    name: { type: 'string', enum: ['cta_url'] },
    parameters: {
      type: 'object',
      additionalProperties: false,
      required: ['display_text', 'url'],
      properties: { display_text: { type: 'string', maxLength: 20 }, url: { type: 'string', format: 'uri' } },
    },
  },
});
const component = defs.TemplateComponent as { properties: { index: { pattern: string } } };
component.properties.index.pattern = '^[0-9]$';

const out = {
  $comment: [
    `components.schemas.Message of Meta's ${path.basename(specFile)} (version ${doc.info?.version ?? 'unknown'}) and the schemas it references,`,
    'rewritten by scripts/extract-meta-simulator-schema.ts (do not edit by hand). Reproduced under this notice:',
    '',
    license,
  ].join('\n'),
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $ref: '#/$defs/Message',
  $defs: defs,
};
fs.writeFileSync(target, `${JSON.stringify(out, null, 1)}\n`);
console.log(`wrote ${Object.keys(defs).length} schemas to ${path.relative(process.cwd(), target)}`);
