import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import schema from '../fixtures/meta-message-schema.json';

/** A validator of send bodies against Meta's own `Message` schema (test/fixtures, from the spec). */
export function metaMessageValidator(): (body: unknown) => string[] {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  // The spec says `format: url`, which is not a JSON Schema format; Meta means an absolute URL.
  ajv.addFormat('url', (v: string) => /^https?:\/\/\S+$/.test(v));
  const validate = ajv.compile(schema);
  return (body) => (validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`));
}
