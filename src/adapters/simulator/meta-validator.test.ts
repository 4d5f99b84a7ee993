import { createHmac } from 'node:crypto';
import { matchSignature } from '../../domain/ingress/signature';
import { MetaError } from './meta-errors';
import { createMetaValidator } from './meta-validator';
import { loopbackUrl } from './self-address';
import { newMediaId, newWamid } from './wamid';
import { envelope, metaSerialize } from './webhook-emitter';

const to = { messaging_product: 'whatsapp', recipient_type: 'individual', to: '+16505551234' };

describe("the simulator's request validation (Meta's Message schema + the live API's rules)", () => {
  const v = createMetaValidator();

  it.each([
    ['text', { ...to, type: 'text', text: { body: 'Hi', preview_url: true } }],
    ['text with context', { ...to, type: 'text', text: { body: 'Hi' }, context: { message_id: 'wamid.x' } }],
    ['image by link', { ...to, type: 'image', image: { link: 'https://example.com/a.jpg', caption: 'A' } }],
    ['document by id', { ...to, type: 'document', document: { id: '123', filename: 'menu.pdf' } }],
    ['audio', { ...to, type: 'audio', audio: { id: '123' } }],
    ['sticker', { ...to, type: 'sticker', sticker: { id: '123' } }],
    ['video', { ...to, type: 'video', video: { link: 'https://example.com/v.mp4' } }],
    ['location', { ...to, type: 'location', location: { latitude: '51.5', longitude: '-0.12', name: 'Cafe' } }],
    ['reaction', { ...to, type: 'reaction', reaction: { message_id: 'wamid.x', emoji: '\u{1F44D}' } }],
    ['buttons', { ...to, type: 'interactive', interactive: { type: 'button', body: { text: 'Pick' }, action: { buttons: [{ type: 'reply', reply: { id: 'a', title: 'A' } }] } } }],
    ['list', { ...to, type: 'interactive', interactive: { type: 'list', body: { text: 'Pick' }, action: { button: 'Menu', sections: [{ title: 'S', rows: [{ id: 'r', title: 'R' }] }] } } }],
    ['cta_url', { ...to, type: 'interactive', interactive: { type: 'cta_url', body: { text: 'See' }, action: { name: 'cta_url', parameters: { display_text: 'Open', url: 'https://example.com' } } } }],
    ['template', { ...to, type: 'template', template: { name: 'hello', language: { policy: 'deterministic', code: 'en_US' }, components: [{ type: 'button', sub_type: 'quick_reply', index: '0', parameters: [{ type: 'payload', payload: 'YES' }] }] } }],
    ['contacts', { ...to, type: 'contacts', contacts: [{ name: { formatted_name: 'Ana B', first_name: 'Ana' }, phones: [{ phone: '+1 650', type: 'WORK' }] }] }],
  ])('accepts a valid %s message', (_name, body) => {
    expect(v.problems(body)).toEqual([]);
    expect(() => v.send(body)).not.toThrow();
  });

  it.each([
    ['a missing parameter, named in the message', { recipient_type: 'individual', to: '+1650555', type: 'text', text: { body: 'x' } }, '(#100) The parameter messaging_product is required.', 'messaging_product'],
    ['an unknown parameter', { ...to, type: 'text', text: { body: 'x', bold: true } }, '(#100) Invalid parameter', "Param text['bold'] is not a valid parameter."],
    ['an empty text', { ...to, type: 'text', text: {} }, "(#100) The parameter text['body'] is required.", "text['body']"],
    ['a text over 4096 characters', { ...to, type: 'text', text: { body: 'x'.repeat(4097) } }, '(#100) Invalid parameter', '4096'],
    ['a location without coordinates', { ...to, type: 'location', location: { name: 'Somewhere' } }, "(#100) The parameter location['latitude'] is required.", "location['longitude']"],
    ['duplicate reply button ids', { ...to, type: 'interactive', interactive: { type: 'button', body: { text: 'x' }, action: { buttons: [{ type: 'reply', reply: { id: 'a', title: 'A' } }, { type: 'reply', reply: { id: 'a', title: 'B' } }] } } }, '(#100) Invalid parameter', 'unique ids'],
    ['more than 10 list rows in all', { ...to, type: 'interactive', interactive: { type: 'list', body: { text: 'x' }, action: { button: 'M', sections: [0, 1].map((s) => ({ title: `S${s}`, rows: Array.from({ length: 6 }, (_, i) => ({ id: `${s}-${i}`, title: 'R' })) })) } } }, '(#100) Invalid parameter', '10 rows'],
    ['a recipient that is not a phone number', { ...to, to: 'alice', type: 'text', text: { body: 'x' } }, '(#100) Invalid parameter', 'Param to must be a valid phone number.'],
  ])('refuses %s with Meta\'s error 100', (_name, body, message, details) => {
    let error: unknown;
    try {
      v.send(body);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MetaError);
    const b = (error as MetaError).toBody();
    expect(b.error).toMatchObject({ message, type: 'OAuthException', code: 100, error_data: { messaging_product: 'whatsapp', details: expect.stringContaining(details) }, fbtrace_id: expect.any(String) });
    expect((error as MetaError).status).toBe(400);
  });

  it('reads a mark-as-read, with or without the typing indicator, and nothing else', () => {
    expect(v.read({ messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.x', typing_indicator: { type: 'text' } })).toMatchObject({ typing_indicator: { type: 'text' } });
    expect(() => v.read({ messaging_product: 'whatsapp', status: 'read' })).toThrow('(#100) The parameter message_id is required.');
    expect(() => v.read({ messaging_product: 'whatsapp', status: 'read', message_id: 'w', typing_indicator: { type: 'audio' } })).toThrow(MetaError);
    expect(() => v.read({ messaging_product: 'whatsapp', status: 'delivered', message_id: 'w' })).toThrow(MetaError);
  });
});

describe("Meta's errors", () => {
  it('carry the code in the message, Meta\'s details and HTTP status, and the same error in a failed status', () => {
    const e = new MetaError(131047);
    expect(e.status).toBe(400);
    expect(e.toBody().error).toMatchObject({ message: '(#131047) Re-engagement message', code: 131047, type: 'OAuthException' });
    expect(e.toStatusError()).toMatchObject({ code: 131047, title: 'Re-engagement message', error_data: { details: expect.stringContaining('24 hours') } });
    expect(new MetaError(190).status).toBe(401);
    expect(new MetaError(131000).status).toBe(500);
    expect(new MetaError(424242, { message: 'Custom' }).toBody().error.message).toBe('(#424242) Custom');
  });
});

describe("the simulator's ids and webhooks", () => {
  it("makes wamids shaped like Meta's, carrying the customer's number, and numeric media ids", () => {
    const inbound = newWamid('16505551234', 'in');
    expect(inbound).toMatch(/^wamid\.HBgL/);
    const record = Buffer.from(inbound.slice('wamid.'.length), 'base64');
    expect(record.subarray(3, 14).toString('ascii')).toBe('16505551234');
    expect(record.subarray(20, 40).toString('ascii')).toMatch(/^[0-9A-F]{20}$/);
    expect(Buffer.from(newWamid('16505551234', 'out').slice(6), 'base64').subarray(20, 38).toString('ascii')).toMatch(/^[0-9A-F]{18}$/);
    expect(newWamid('16505551234', 'in')).not.toBe(inbound);
    expect(newMediaId()).toMatch(/^[1-9]\d{15}$/);
  });

  it('serialises like Meta (non-ASCII escaped) so that the signature over the raw bytes verifies', () => {
    const payload = envelope({ phoneNumberId: '106540352242922', wabaId: '102290129340398', displayNumber: '+1 555 078 3881' }, { messages: [{ text: { body: 'Café \u{1F44D}' } }] });
    const raw = metaSerialize(payload);
    expect(raw).toContain('Caf\\u00e9 \\ud83d\\udc4d');
    expect([...raw].every((c) => c.charCodeAt(0) < 0x80)).toBe(true);
    expect(JSON.parse(raw)).toEqual(payload);
    expect(payload.entry[0]?.changes[0]?.value.metadata).toEqual({ display_phone_number: '15550783881', phone_number_id: '106540352242922' });
    const signature = `sha256=${createHmac('sha256', 'secret').update(raw).digest('hex')}`;
    expect(matchSignature(Buffer.from(raw), signature, [{ appSecret: 'secret' }])).toBeDefined();
  });

  it('turns a listening address into one the gateway can call itself on', () => {
    expect(loopbackUrl('0.0.0.0', 3000)).toBe('http://127.0.0.1:3000');
    expect(loopbackUrl('::', 3000)).toBe('http://127.0.0.1:3000');
    expect(loopbackUrl('localhost', 3000)).toBe('http://127.0.0.1:3000');
    expect(loopbackUrl('10.0.0.5', 8080)).toBe('http://10.0.0.5:8080');
    expect(loopbackUrl('::1', 8080)).toBe('http://[::1]:8080');
  });
});
