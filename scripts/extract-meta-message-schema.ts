// Extracts Meta's `Message` schema (send bodies of POST /{phone-number-id}/messages) and what it
// references from Meta's OpenAPI spec (MIT) into test/fixtures, as a JSON Schema 2020-12 document
// that ajv can compile. Quirk fixed as shared/reference/meta-openapi/NOTES.md advises: the
// `additionalProperties: false` inside allOf members moves to the parent as
// `unevaluatedProperties: false`. Run: npx tsx scripts/extract-meta-message-schema.ts [spec.yaml]
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const spec = process.argv[2] ?? path.resolve(__dirname, '../../shared/reference/meta-openapi/business-messaging-api_v23.0.yaml');
const doc = parse(fs.readFileSync(spec, 'utf8'), { maxAliasCount: -1 }) as { components: { schemas: Record<string, Json> } };
const all = doc.components.schemas;
const defs: Record<string, Json> = {};

function rewrite(node: Json): Json {
  if (Array.isArray(node)) return node.map(rewrite);
  if (node && typeof node === 'object') {
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === 'discriminator' || k === 'example' || k === 'examples') continue;
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
  if (schema === undefined) throw new Error(`missing schema ${name}`);
  defs[name] = null;
  defs[name] = rewrite(schema);
}

collect('Message');

// Two more defects of the v23.0 spec, fixed here and nowhere else:
// - the interactive `type` enum and the action schema lack `cta_url`, which Meta documents and accepts (see
//   shared/reference/whatsapp-cloud-api.md, section 5);
// - the template button `index` pattern is `^[2-6, 11-14]$`, a character class that refuses
//   index 0; its own description says "Position index of the button (0-9)".
const interactive = defs.InteractiveObject as { properties: { type: { enum: string[] } } };
if (!interactive.properties.type.enum.includes('cta_url')) interactive.properties.type.enum.push('cta_url');
// ... and its action, as documented: {name: "cta_url", parameters: {display_text (<= 20), url}}.
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
  $comment: 'Meta business-messaging-api_v23.0.yaml components.schemas.Message and its references (MIT License, Copyright Meta Platforms, Inc.), rewritten by scripts/extract-meta-message-schema.ts',
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $ref: '#/$defs/Message',
  $defs: defs,
};
fs.writeFileSync(path.resolve(__dirname, '../test/fixtures/meta-message-schema.json'), `${JSON.stringify(out, null, 1)}\n`);
console.log(`wrote ${Object.keys(defs).length} schemas`);
