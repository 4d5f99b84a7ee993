import { createHmac } from 'node:crypto';
import request from 'supertest';
import type { Express } from 'express';
import fixtures from '../fixtures/meta-webhook-examples.json';

export const EXAMPLES = fixtures.examples as Record<string, unknown>;
export const SPEC_PHONE_NUMBER_ID = '106540352242922';
export const SPEC_WABA_ID = '102290129340398';

/** JSON as Meta sends it: non-ASCII characters escaped as \uXXXX. */
export function metaSerialize(payload: unknown): string {
  return JSON.stringify(payload).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function sign(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function postWebhook(app: Express, body: string | Buffer, signature?: string) {
  const req = request(app).post('/webhooks/whatsapp').set('Content-Type', 'application/json');
  if (signature !== undefined) req.set('X-Hub-Signature-256', signature);
  return req.send(body);
}

export function postSigned(app: Express, payload: unknown, secret: string) {
  const body = metaSerialize(payload);
  return postWebhook(app, body, sign(body, secret));
}

let counter = 0;
export function uniqueWamid(): string {
  counter++;
  return `wamid.TEST${Date.now().toString(36)}${counter.toString(36).padStart(6, '0')}`;
}

export function textPayload(opts: {
  phoneNumberId?: string;
  wabaId?: string;
  wamid?: string;
  from?: string;
  name?: string;
  body?: string;
  timestamp?: number;
}) {
  const from = opts.from ?? '16505551234';
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: opts.wabaId ?? SPEC_WABA_ID,
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: opts.phoneNumberId ?? SPEC_PHONE_NUMBER_ID },
              contacts: [{ profile: { name: opts.name ?? 'Sheena Nelson' }, wa_id: from }],
              messages: [
                {
                  from,
                  id: opts.wamid ?? uniqueWamid(),
                  timestamp: String(opts.timestamp ?? Math.floor(Date.now() / 1000)),
                  type: 'text',
                  text: { body: opts.body ?? 'Hello' },
                },
              ],
            },
          },
        ],
      },
    ],
  };
}

export function statusPayload(statuses: { wamid: string; status: string; timestamp?: number; errors?: unknown[]; pricing?: unknown }[], phoneNumberId = SPEC_PHONE_NUMBER_ID) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: SPEC_WABA_ID,
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
              statuses: statuses.map((s) => ({
                id: s.wamid,
                status: s.status,
                timestamp: String(s.timestamp ?? Math.floor(Date.now() / 1000)),
                recipient_id: '16505551234',
                ...(s.errors ? { errors: s.errors } : {}),
                ...(s.pricing ? { pricing: s.pricing } : {}),
              })),
            },
          },
        ],
      },
    ],
  };
}
