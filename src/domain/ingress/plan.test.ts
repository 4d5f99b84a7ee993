import fc from 'fast-check';
import fixtures from '../../../test/fixtures/meta-webhook-examples.json';
import { planIngress, type VerifiedNumber } from './plan';
import { candidateIds, matchSignature, signBody } from './signature';
import { envelopeSchema } from './webhook.schema';

const number: VerifiedNumber = { id: 'num_1', workspaceId: 'ws_1', phoneNumberId: '106540352242922', wabaId: '102290129340398' };
const byPhone = new Map([[number.phoneNumberId, number]]);
const byWaba = new Map([[number.wabaId, number]]);

/** What the ingress does with a body once the signature is good: it must never throw. */
function parse(body: unknown) {
  const envelope = envelopeSchema.safeParse(body);
  return envelope.success ? planIngress(envelope.data, byPhone, byWaba) : undefined;
}

// Values Meta-like payloads are made of, including the wrong types in the right places.
const leaf = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom('106540352242922', 'text', 'image', 'messages', '1750000000', 'wamid.x'));
const mutant = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(fc.constantFrom('id', 'from', 'timestamp', 'type', 'text', 'body', 'metadata', 'phone_number_id', 'messages', 'statuses', 'contacts', 'status', 'errors', 'code', 'field', 'value', 'changes', 'entry', 'interactive', 'reaction', 'emoji', 'context', 'wa_id'), tie('value'), { maxKeys: 6 })),
})).value;

/** Replace a random path of a real example with an arbitrary value. */
function mutate(example: unknown, replacement: unknown, pick: number): unknown {
  const copy = structuredClone(example) as Record<string, unknown>;
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, p: (string | number)[]) => {
    paths.push(p);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...p, i]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
  };
  walk(copy, []);
  const path = paths[pick % paths.length] as (string | number)[];
  if (path.length === 0) return replacement;
  let target: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  target[path[path.length - 1] as string | number] = replacement;
  return copy;
}

const examples = Object.values(fixtures.examples);

describe('webhook parser (property-based)', () => {
  it('never throws on arbitrary JSON (10,000 runs)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        parse(v);
      }),
      { numRuns: 10_000 },
    );
  });

  it('never throws on real examples with any part replaced by anything (10,000 runs)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: examples.length - 1 }), fc.nat(), mutant, (i, pick, replacement) => {
        const plan = parse(mutate(examples[i], replacement, pick));
        if (plan) for (const item of plan.inbound) expect(typeof item.message.wamid).toBe('string');
      }),
      { numRuns: 10_000 },
    );
  });

  it('every unmodified example parses into something to store', () => {
    for (const e of examples) {
      const plan = parse(e);
      expect(plan).toBeDefined();
      expect((plan?.inbound.length ?? 0) + (plan?.other.length ?? 0)).toBeGreaterThan(0);
      expect(plan?.skipped).toEqual([]);
    }
  });

  it('signature checks never throw on arbitrary bytes and headers', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.string({ maxLength: 80 }), (bytes, header) => {
        const raw = Buffer.from(bytes);
        candidateIds(raw);
        expect(matchSignature(raw, header, [{ appSecret: 's' }])).toBeUndefined();
        expect(matchSignature(raw, signBody(raw, 's'), [{ appSecret: 'x' }, { appSecret: 's' }])).toEqual({ appSecret: 's' });
      }),
      { numRuns: 2_000 },
    );
  });
});
