import fs from 'node:fs';
import path from 'node:path';
import { EVENT_TYPES, eventCatalog, isEventType, parseEventData } from './catalog';

/** Every `type: '<x.y>'` (and `type: \`message.${...}\``) written in src, with where it is. */
function emittedTypes(): { literal: Map<string, string>; templates: Map<string, string> } {
  const root = path.resolve(__dirname, '../..');
  const literal = new Map<string, string>();
  const templates = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/\.ts$/.test(entry.name) && !/\.test\.ts$/.test(entry.name) && !p.endsWith(path.join('events', 'catalog.ts'))) {
        const text = fs.readFileSync(p, 'utf8');
        for (const m of text.matchAll(/\btype:\s*([^,\n}]+)/g)) {
          const expr = m[1] ?? '';
          for (const t of expr.matchAll(/'([a-z_]+\.[a-z_]+)'/g)) literal.set(t[1] as string, path.relative(root, p));
          for (const t of expr.matchAll(/`([a-z_]+)\.\$\{/g)) templates.set(t[1] as string, path.relative(root, p));
        }
      }
    }
  };
  walk(root);
  return { literal, templates };
}

describe('event catalog', () => {
  it('names every event type written anywhere in src', () => {
    const { literal, templates } = emittedTypes();
    // The scan must find the known emitters, or it is not looking where the events are written.
    expect([...literal.keys()]).toEqual(expect.arrayContaining(['message.received', 'conversation.takeover', 'agent.replied', 'template.status_updated']));
    const missing = [...literal.entries()].filter(([t]) => !isEventType(t)).map(([t, file]) => `${t} (${file})`);
    expect(missing).toEqual([]);
    // `message.${status}` from WhatsApp statuses: every status the ingress applies.
    expect([...templates.keys()]).toEqual(['message']);
    for (const s of ['sent', 'delivered', 'read', 'failed']) expect(isEventType(`message.${s}`)).toBe(true);
  });

  it('has a description and a schema for each type, and refuses unknown types and bad data', () => {
    expect(EVENT_TYPES.length).toBeGreaterThanOrEqual(17);
    for (const t of EVENT_TYPES) expect(eventCatalog[t].description.length).toBeGreaterThan(10);
    expect(() => parseEventData('message.exploded', {})).toThrow(/unknown event type/);
    expect(() => parseEventData('message.received', { message: { id: 1 } })).toThrow();
    expect(parseEventData('webhook.test', { endpoint_id: 'whe_1', message: 'ping' })).toEqual({ endpoint_id: 'whe_1', message: 'ping' });
  });
});
