// Copies the webhook examples of Meta's OpenAPI spec (MIT) into test/fixtures, so tests do not
// depend on files outside the repository. Run: npx tsx scripts/extract-meta-fixtures.ts [spec.yaml]
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const spec = process.argv[2] ?? path.resolve(__dirname, '../../shared/reference/meta-openapi/business-messaging-api_v23.0.yaml');
const doc = parse(fs.readFileSync(spec, 'utf8'), { maxAliasCount: -1 }) as {
  paths: Record<string, { post?: { requestBody?: { content?: Record<string, { examples?: Record<string, { value: unknown }> }> } } }>;
};
const examples = doc.paths['/whatsapp/webhooks']?.post?.requestBody?.content?.['application/json']?.examples ?? {};
const out = {
  source: 'Meta business-messaging-api_v23.0.yaml, paths./whatsapp/webhooks.post.requestBody examples (MIT License, Copyright Meta Platforms, Inc.)',
  examples: Object.fromEntries(Object.entries(examples).map(([name, e]) => [name, e.value])),
};
fs.writeFileSync(path.resolve(__dirname, '../test/fixtures/meta-webhook-examples.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${Object.keys(out.examples).length} examples`);
