import { outboundMessageSchema } from '../../domain/messages/outbound.schema';
import { startGraphEmulator, type GraphEmulator } from '../../../test/support/graph-emulator';
import { createGraphClient } from './graph-api.client';
import { GraphApiError } from '../../domain/whatsapp/graph-errors';
import { toGraphBody } from './message-body';

describe('Graph API client against the emulator', () => {
  let graph: GraphEmulator;
  const TOKEN = 'EAAG-client-test';
  beforeAll(async () => {
    graph = await startGraphEmulator(TOKEN);
  });
  afterAll(async () => {
    await graph.close();
  });
  const client = () => createGraphClient({ baseUrl: graph.url, apiVersion: 'v23.0', timeoutMs: 2000 });
  const body = () => toGraphBody(outboundMessageSchema.parse({ to: '+16505551234', type: 'text', text: { body: 'hi' } }));

  it('sends with the bearer token and returns the wamid', async () => {
    const r = await client().sendMessage(TOKEN, '106540352242922', body());
    expect(r.wamid).toMatch(/^wamid\./);
    expect(r.waId).toBe('16505551234');
    expect(graph.calls.at(-1)).toMatchObject({ method: 'POST', path: '/v23.0/106540352242922/messages', authorization: `Bearer ${TOKEN}` });
  });

  it("turns Meta's errors into GraphApiError with code, details and class", async () => {
    graph.failNext(/messages$/, 400, { code: 131047, message: 'Re-engagement message', details: 'More than 24 hours have passed' });
    const e1 = await client().sendMessage(TOKEN, '106540352242922', body()).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(GraphApiError);
    expect(e1).toMatchObject({ code: 131047, details: 'More than 24 hours have passed', httpStatus: 400, errorClass: 'permanent' });
    expect((e1 as GraphApiError).message).toMatch(/: \(#131047\) Re-engagement message$/);
    // Meta's message already names the code: it is not repeated.
    graph.failNext(/messages$/, 400, { code: 131047, message: '(#131047) Re-engagement message' });
    const coded = (await client().sendMessage(TOKEN, '106540352242922', body()).catch((e: unknown) => e)) as GraphApiError;
    expect(coded.message).toMatch(/: \(#131047\) Re-engagement message$/);
    expect(coded.message.match(/\(#131047\)/g)).toHaveLength(1);
    graph.failNext(/messages$/, 400, { code: 130429, message: 'Rate limit hit' });
    expect(await client().sendMessage(TOKEN, '106540352242922', body()).catch((e: unknown) => e)).toMatchObject({ code: 130429, retryable: true });
    graph.failNext(/messages$/, 400, { code: 131056, message: 'pair rate' });
    expect(await client().sendMessage(TOKEN, '106540352242922', body()).catch((e: unknown) => e)).toMatchObject({ errorClass: 'pair_rate_limited' });
  });

  it('a body outside Meta\'s schema is refused as Meta would (code 100)', async () => {
    const e = await client().sendMessage(TOKEN, '106540352242922', { messaging_product: 'whatsapp', to: '+1', type: 'text' }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 100, errorClass: 'permanent' });
  });

  it('a wrong token is 190 and permanent; the token never appears in the error', async () => {
    const e = (await client().sendMessage('wrong-token-123', '106540352242922', body()).catch((x: unknown) => x)) as GraphApiError;
    expect(e).toMatchObject({ code: 190, retryable: false });
    expect(JSON.stringify({ message: e.message, details: e.details, stack: e.stack })).not.toContain('wrong-token-123');
  });

  it('a refused connection never reached Meta: retryable, outcome known', async () => {
    const dead = createGraphClient({ baseUrl: 'http://127.0.0.1:1', apiVersion: 'v23.0', timeoutMs: 500 });
    expect(await dead.sendMessage(TOKEN, '1', body()).catch((e: unknown) => e)).toMatchObject({
      retryable: true,
      code: undefined,
      mayHaveReachedMeta: false,
      outcomeUnknown: false,
    });
  });

  it('a timeout after the request left: the outcome is unknown', async () => {
    graph.slowNext(/messages$/, 1_000);
    const before = graph.calls.length;
    const e = await createGraphClient({ baseUrl: graph.url, apiVersion: 'v23.0', timeoutMs: 200 })
      .sendMessage(TOKEN, '106540352242922', body())
      .catch((x: unknown) => x);
    expect(e).toMatchObject({ outcomeUnknown: true, retryable: true });
    expect(graph.calls.length).toBe(before + 1); // Meta (the emulator) did get it
  });
});
