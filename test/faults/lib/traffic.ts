import type { GraphCall } from '../../support/graph-emulator';
import { metaSerialize, sign, textPayload } from '../../support/meta';
import type { ChatRequestView } from '../../support/openai-emulator';
import { FAULT_APP_SECRET } from './cluster';

/** One signed Meta delivery of a customer's text, as bytes, with its wamid. */
export function inboundText(waId: string, body: string, wamid: string): { body: string; signature: string; wamid: string } {
  const raw = metaSerialize(textPayload({ from: waId, body, wamid, name: `Customer ${waId.slice(-4)}` }));
  return { body: raw, signature: sign(raw, FAULT_APP_SECRET), wamid };
}

/** POSTs a delivery to the ingress; the HTTP status, or 0 when the connection failed (Meta would retry). */
export async function deliver(apiUrl: string, d: { body: string; signature: string }, timeoutMs = 10_000): Promise<number> {
  try {
    const res = await fetch(`${apiUrl}/webhooks/whatsapp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': d.signature },
      body: d.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Delivers until the ingress answers 200, as Meta's retries would (bounded). */
export async function deliverUntilAccepted(apiUrl: () => string, d: { body: string; signature: string }, timeoutMs = 60_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  let status = 0;
  while (Date.now() < end) {
    status = await deliver(apiUrl(), d);
    if (status === 200) return 200;
    await new Promise((r) => setTimeout(r, 250));
  }
  return status;
}

/** The model of the fault tests: answers every question, quoting its last line, with high confidence. */
export function echoAnswer(req: ChatRequestView) {
  const lines = req.lastUser.split('\n').map((l) => l.trim()).filter(Boolean);
  return { json: { reply: `Answer to: ${lines.join(' | ')}`, confidence: 0.9, source_chunk_ids: [], handoff: { requested: false, reason: null } } };
}

/** Text messages the Graph emulator accepted, per recipient (wa_id without +), in arrival order. */
export function repliesByCustomer(calls: GraphCall[]): Map<string, GraphCall[]> {
  const by = new Map<string, GraphCall[]>();
  for (const c of calls) {
    const b = c.body as { to?: string; type?: string } | undefined;
    if (c.method !== 'POST' || !c.path.endsWith('/messages') || b?.type !== 'text') continue;
    const to = String(b.to ?? '').replace(/^\+/, '');
    by.set(to, [...(by.get(to) ?? []), c]);
  }
  return by;
}

export const replyText = (c: GraphCall) => (c.body as { text?: { body?: string } }).text?.body ?? '';

/** The `reply` of a structured answer in an OpenAI chat completion body (content or tool call). */
export function modelReply(completion: Buffer | undefined): string | undefined {
  if (!completion) return undefined;
  try {
    const body = JSON.parse(completion.toString('utf8')) as { choices?: { message?: { content?: string | null; tool_calls?: { function?: { arguments?: string } }[] } }[] };
    const message = body.choices?.[0]?.message;
    const json = message?.tool_calls?.[0]?.function?.arguments ?? message?.content;
    return json ? (JSON.parse(json) as { reply?: string }).reply : undefined;
  } catch {
    return undefined;
  }
}
