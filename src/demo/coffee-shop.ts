import type { AgentSettingsInput } from '../domain/agent/agent-settings';
import type { SyncedTemplate } from '../domain/templates/templates.port';

/**
 * The demo business seeded on a first start: a coffee shop with its agent's persona, one approved
 * template and the knowledge base in coffee-shop.knowledge.ts.
 */
export const DEMO_WORKSPACE = {
  name: 'Bean There Coffee',
  /** The slug marks the workspace as the demo (and lets an interrupted seed find it again). */
  slug: 'demo',
} as const;

/** Stored as workspaces.settings.agent, like PATCH /v1/agent/settings would. */
export const DEMO_AGENT_SETTINGS = {
  persona: {
    name: 'Bea',
    tone: 'warm, cheerful and brief, like a barista who knows the regulars',
    instructions:
      'You are Bea, the WhatsApp assistant of Bean There Coffee, a café at 42 Harbour Street. ' +
      'Answer questions about the café (opening hours, menu and prices, allergens, orders, bookings, events) ' +
      'only from the knowledge base. Never invent prices, dates or allergen information. If the customer has ' +
      'a complaint, a severe allergy or asks for a person, hand the chat over to the team.',
  },
  handoff_message:
    'I am passing you to a member of the Bean There team, who will reply here in a few minutes during opening hours.',
} satisfies AgentSettingsInput;

/**
 * An approved utility template in the shape of Meta's message template objects (what a catalog
 * sync stores), so POST /v1/messages checks its parameters like any synced template's: the body
 * takes one ({{1}}, the order number).
 */
export const DEMO_TEMPLATE: Omit<SyncedTemplate, 'metaTemplateId'> = {
  name: 'order_ready',
  language: 'en_US',
  category: 'UTILITY',
  status: 'APPROVED',
  parameterFormat: 'POSITIONAL',
  components: [
    { type: 'HEADER', format: 'TEXT', text: 'Your order is ready' },
    {
      type: 'BODY',
      text: 'Good news: your order {{1}} is ready for pickup at the takeaway window on Mill Lane. Enjoy!',
      example: { body_text: [['A-142']] },
    },
    { type: 'FOOTER', text: 'Bean There Coffee, 42 Harbour Street' },
  ],
};

/** A fictional +1 555 number, like the test numbers Meta hands out; sandbox traffic never reaches a phone. */
export const DEMO_DISPLAY_NUMBER = '+1 555 010 4242';
