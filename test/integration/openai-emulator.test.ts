import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import type { AIMessage, AIMessageChunk } from '@langchain/core/messages';
import { z } from 'zod';
import { emulatorEmbedding, startOpenAiEmulator, type OpenAiEmulator } from '../support/openai-emulator';

const Answer = z.object({
  answer: z.string().describe('The reply to the customer'),
  confidence: z.number().min(0).max(1),
  tags: z.array(z.string()),
});
const full = { answer: 'Paris is the capital of France.', confidence: 0.9, tags: ['geography', 'europe'] };

const cosine = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);

describe('OpenAI emulator, driven by the real @langchain/openai classes', () => {
  let emu: OpenAiEmulator;
  const chat = (fields: Partial<ConstructorParameters<typeof ChatOpenAI>[0] & object> = {}) =>
    new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'sk-test', maxRetries: 0, configuration: { baseURL: emu.url }, ...fields });
  const embeddings = (fields: Partial<ConstructorParameters<typeof OpenAIEmbeddings>[0] & object> = {}) =>
    new OpenAIEmbeddings({ model: 'text-embedding-3-small', apiKey: 'sk-test', maxRetries: 0, configuration: { baseURL: emu.url }, ...fields });

  beforeAll(async () => {
    emu = await startOpenAiEmulator();
  });
  afterEach(() => {
    const mistakes = [...emu.handlerErrors];
    emu.reset();
    expect(mistakes).toEqual([]);
  });
  afterAll(() => emu.close());

  it('structured output with json_schema: parsed object, raw usage, and what the server saw', async () => {
    emu.onChat((req) => (req.lastUser.includes('France') ? { json: full } : { text: 'no idea' }));
    const result = await chat()
      .withStructuredOutput(Answer, { method: 'jsonSchema', includeRaw: true })
      .invoke([
        ['system', 'You answer geography questions.'],
        ['user', 'What is the capital of France?'],
      ]);

    expect(result.parsed).toEqual(full);
    const prompt = Math.ceil(('You answer geography questions.'.length + 'What is the capital of France?'.length) / 4);
    const completion = Math.ceil(JSON.stringify(full).length / 4);
    expect((result.raw as AIMessage).usage_metadata).toMatchObject({ input_tokens: prompt, output_tokens: completion, total_tokens: prompt + completion });
    const [seen] = emu.requests.chat;
    expect(seen).toMatchObject({ model: 'gpt-4o-mini', system: 'You answer geography questions.', lastUser: 'What is the capital of France?', stream: false });
    expect(seen?.responseFormat).toMatchObject({ type: 'json_schema', json_schema: { name: 'extract', strict: true, schema: { type: 'object' } } });
    expect(seen?.tools).toBeUndefined();
  });

  it('structured output with function calling: a forced tool call whose arguments are parsed', async () => {
    emu.onChat(() => ({ json: full }));
    const result = await chat()
      .withStructuredOutput(Answer, { method: 'functionCalling', name: 'reply', includeRaw: true })
      .invoke('What is the capital of France?');

    expect(result.parsed).toEqual(full);
    const raw = result.raw as AIMessage;
    expect(raw.tool_calls).toEqual([expect.objectContaining({ name: 'reply', args: full })]);
    expect(raw.usage_metadata?.output_tokens).toBe(Math.ceil(JSON.stringify(full).length / 4));
    expect(emu.requests.chat[0]?.body).toMatchObject({ tool_choice: { type: 'function', function: { name: 'reply' } }, tools: [{ type: 'function', function: { name: 'reply' } }] });
  });

  it('withStructuredOutput picks json_schema by default for gpt-4o-mini, function calling for gpt-4-turbo', async () => {
    emu.onChat(() => ({ json: full }));
    await expect(chat().withStructuredOutput(Answer).invoke('hi')).resolves.toEqual(full);
    await expect(chat({ model: 'gpt-4-turbo' }).withStructuredOutput(Answer).invoke('hi')).resolves.toEqual(full);
    expect(emu.requests.chat.map((r) => [r.responseFormat !== undefined, r.tools !== undefined])).toEqual([
      [true, false],
      [false, true],
    ]);
  });

  it('stream() yields the text in several deltas, then the usage', async () => {
    const text = 'Hello from the emulator, streamed in small pieces.';
    emu.onChat(() => ({ text }));
    const chunks: AIMessageChunk[] = [];
    for await (const c of await chat().stream('Say hello')) chunks.push(c);

    const deltas = chunks.map((c) => String(c.content)).filter(Boolean);
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.join('')).toBe(text);
    const usage = chunks.find((c) => c.usage_metadata)?.usage_metadata;
    expect(usage).toMatchObject({ input_tokens: Math.ceil('Say hello'.length / 4), output_tokens: Math.ceil(text.length / 4) });
    expect(emu.requests.chat[0]).toMatchObject({ stream: true, body: { stream_options: { include_usage: true } } });
  });

  it('structured stream() with function calling yields growing partial objects ending in the full one', async () => {
    emu.onChat(() => ({ json: full }));
    const partials: unknown[] = [];
    for await (const p of await chat().withStructuredOutput(Answer, { method: 'functionCalling' }).stream('capital?')) partials.push(p);

    expect(partials.length).toBeGreaterThan(3);
    expect(partials.at(-1)).toEqual(full);
    const sizes = partials.map((p) => JSON.stringify(p).length);
    expect(sizes).toEqual([...sizes].sort((a, b) => a - b));
    expect(partials[0]).not.toEqual(full);
  });

  it('structured stream() with json_schema yields only the final object (LangChain does not parse partial content)', async () => {
    emu.onChat(() => ({ json: full }));
    const partials: unknown[] = [];
    for await (const p of await chat().withStructuredOutput(Answer, { method: 'jsonSchema' }).stream('capital?')) partials.push(p);
    expect(partials).toEqual([full]);
    expect(emu.requests.chat[0]?.stream).toBe(true);
  });

  it('embeddings decode from base64 (the SDK default) and from float to the emulator vectors', async () => {
    const query = 'How do I reset my password?';
    const docs = ['Reset your password from the login page.', 'We ship to Spain and Portugal.', ''];
    const [q, d] = await Promise.all([embeddings().embedQuery(query), embeddings().embedDocuments(docs)]);
    const [qf, df] = await Promise.all([embeddings({ encodingFormat: 'float' }).embedQuery(query), embeddings({ encodingFormat: 'float' }).embedDocuments(docs)]);

    for (const [got, text] of [[q, query], [qf, query], ...docs.flatMap((t, i) => [[d[i], t], [df[i], t]])] as [number[], string][]) {
      const want = emulatorEmbedding(text);
      expect(got).toHaveLength(1536);
      got.forEach((x, i) => expect(Math.abs(x - (want[i] ?? NaN))).toBeLessThan(1e-6));
    }
    expect(cosine(q, d[0] ?? [])).toBeGreaterThan(cosine(q, d[1] ?? []) + 0.3);
    expect(emu.requests.embeddings.map((r) => r.encoding_format).sort()).toEqual(['base64', 'base64', 'float', 'float']);
    expect(emu.requests.embeddings).toContainEqual(expect.objectContaining({ model: 'text-embedding-3-small', input: docs }));

    const small = await embeddings({ dimensions: 256 }).embedQuery(query);
    expect(small).toHaveLength(256);
  });

  it('embeddings answer base64 as little-endian float32 when asked', async () => {
    const res = await fetch(`${emu.url}/embeddings`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'text-embedding-3-small', input: 'café au lait', encoding_format: 'base64', dimensions: 8 }),
    });
    const body = (await res.json()) as { data: { embedding: string }[]; usage: { prompt_tokens: number } };
    const buf = Buffer.from(body.data[0]?.embedding ?? '', 'base64');
    expect(Array.from({ length: buf.length / 4 }, (_, i) => buf.readFloatLE(i * 4))).toEqual(emulatorEmbedding('café au lait', 8));
    expect(body.usage.prompt_tokens).toBe(Math.ceil('café au lait'.length / 4));
  });

  it('embeddings refuse token arrays with a 400 in OpenAI’s error shape', async () => {
    const res = await fetch(`${emu.url}/embeddings`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'text-embedding-3-small', input: [[1, 2, 3]] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { message: expect.stringContaining('token arrays'), type: 'invalid_request_error', param: 'input', code: null } });
  });

  it('a 500 is retried by LangChain until it succeeds, and rejected once retries run out', async () => {
    emu.failNext(2, 500);
    await expect(chat({ maxRetries: 2 }).invoke('hi')).resolves.toMatchObject({ content: 'ok' });
    expect(emu.requests.chat).toHaveLength(3);

    emu.reset();
    emu.failNext(5, 500);
    await expect(chat({ maxRetries: 1 }).invoke('hi')).rejects.toMatchObject({ status: 500 });
    expect(emu.requests.chat).toHaveLength(2);
  });

  it('a delayed answer trips the client timeout', async () => {
    emu.setDelay(2000);
    // Under jest the SDK cannot recognise the abort (Node's DOMException comes from another realm),
    // so a timeout surfaces as "Connection error."; under plain node it is "Request timed out.".
    await expect(chat({ timeout: 200 }).invoke('hi')).rejects.toThrow(/timed out|Connection error/i);
    expect(emu.requests.chat).toHaveLength(1);
    emu.setDelay(0);
    await expect(chat({ timeout: 200 }).invoke('hi')).resolves.toMatchObject({ content: 'ok' });
  });

  it('a handler answer that does not fit the json_schema is a loud 500, not a silent pass', async () => {
    const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      emu.onChat(() => ({ json: { answer: 42 } }));
      await expect(chat().withStructuredOutput(Answer, { method: 'jsonSchema' }).invoke('hi')).rejects.toMatchObject({
        status: 500,
        message: expect.stringContaining("bug in the test's chat handler"),
      });
      emu.onChat(() => ({ text: 'Paris' }));
      await expect(chat().withStructuredOutput(Answer).invoke('hi')).rejects.toMatchObject({ status: 500 });
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
    expect(emu.handlerErrors).toEqual([
      expect.stringContaining('does not match response_format "extract"'),
      expect.stringContaining('a strict json_schema request must get { json }'),
    ]);
    emu.handlerErrors.length = 0;
  });

  it('like OpenAI, a strict json_schema with an optional field is a 400; a nullable one is fine', async () => {
    emu.onChat(() => ({ json: { answer: 'hi', note: null } }));
    const optional = z.object({ answer: z.string(), note: z.string().optional() });
    await expect(chat().withStructuredOutput(optional).invoke('hi')).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining("Invalid schema for response_format 'extract': In context=(), 'required' is required to be supplied and to be an array including every key in properties. Missing 'note'."),
    });
    const nullable = z.object({ answer: z.string(), note: z.string().nullable() });
    await expect(chat().withStructuredOutput(nullable).invoke('hi')).resolves.toEqual({ answer: 'hi', note: null });
  });

  it('transcriptions read the multipart form without a parser', async () => {
    emu.setTranscription('hola, quiero pedir un café');
    const form = new FormData();
    form.append('file', new Blob([Buffer.alloc(2048, 7)], { type: 'audio/ogg' }), 'voice.ogg');
    form.append('model', 'whisper-1');
    const res = await fetch(`${emu.url}/audio/transcriptions`, { method: 'POST', headers: { authorization: 'Bearer sk-test' }, body: form });
    expect(await res.json()).toEqual({ text: 'hola, quiero pedir un café' });
    expect(emu.requests.transcriptions).toEqual([{ bytes: expect.any(Number), model: 'whisper-1' }]);
    expect(emu.requests.transcriptions[0]?.bytes).toBeGreaterThan(2048);
  });

  describe('authentication', () => {
    let strict: OpenAiEmulator;
    beforeAll(async () => {
      strict = await startOpenAiEmulator({ apiKey: 'sk-right' });
    });
    afterAll(() => strict.close());

    it('a wrong key is a 401 that LangChain marks as an authentication error', async () => {
      const model = new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'sk-wrong', maxRetries: 3, configuration: { baseURL: strict.url } });
      await expect(model.invoke('hi')).rejects.toMatchObject({ status: 401, lc_error_code: 'MODEL_AUTHENTICATION' });
      const ok = new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'sk-right', maxRetries: 0, configuration: { baseURL: strict.url } });
      await expect(ok.invoke('hi')).resolves.toMatchObject({ content: 'ok' });
    });

    it.each([
      ['no header', {}],
      ['an empty bearer', { authorization: 'Bearer ' }],
    ])('%s is a 401 in OpenAI’s error shape', async (_label, headers: Record<string, string>) => {
      const res = await fetch(`${emu.url}/chat/completions`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: { message: expect.stringContaining('API key'), type: 'invalid_request_error', param: null, code: null } });
    });
  });
});
