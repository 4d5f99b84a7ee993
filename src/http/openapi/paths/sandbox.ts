import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import type { ChatEntry, Customer, Fault } from '../../../adapters/simulator/simulator.store';
import { customerInputSchema, customerMessageSchema, faultInputSchema } from '../../routes/sandbox.route';
import { deletedSchema, listSchema } from '../../serialize';
import { apiOperation, eventStream } from '../common';

/**
 * The sandbox page's API (/sandbox/api): play the customers of the workspace's sandbox numbers on
 * the built-in Cloud API simulator, and queue faults for its sends. The request schemas are the
 * route's; the answers spread the simulator's records, so their schemas are checked against the
 * simulator's types here (and against real answers by the OpenAPI test).
 */
const tags = ['Sandbox'];
const scopes = ['messages:send', 'conversations:read'] as const;
const isoDate = z.iso.datetime();

const numberSchema = z
  .object({
    object: z.literal('sandbox_number'),
    id: z.string(),
    phone_number_id: z.string(),
    display_number: z.string().nullable(),
    waba_id: z.string(),
  })
  .meta({ id: 'SandboxNumber', description: 'A sandbox number of the workspace: its messages go to the simulator, never to Meta.' });

const chatEntrySchema = z
  .object({
    object: z.literal('sandbox_message'),
    id: z.string().meta({ description: 'The wamid.' }),
    from: z.enum(['customer', 'business']),
    type: z.string(),
    at: isoDate,
    message: z.record(z.string(), z.unknown()).meta({ description: "The customer's webhook message object, or the business's Graph send body." }),
    status: z.enum(['sending', 'sent', 'delivered', 'read', 'failed']),
    error: z.object({ code: z.number().int(), title: z.string() }).optional(),
  })
  .meta({ id: 'SandboxMessage', description: 'A message of a simulated chat, either way.' });

const customerFields = { wa_id: z.string(), name: z.string(), created_at: isoDate } satisfies Record<keyof Customer, z.ZodType>;
const customerSchema = z
  .object({
    object: z.literal('sandbox_customer'),
    ...customerFields,
    conversation: z
      .object({ id: z.string(), mode: z.string(), assignee: z.string().nullable() })
      .nullable()
      .meta({ description: "The gateway's conversation with this customer, once there is one." }),
    last_message: chatEntrySchema.omit({ object: true }).nullable().optional().meta({ description: 'The latest message of the chat (in lists: the preview).' }),
  })
  .meta({ id: 'SandboxCustomer', description: 'A simulated customer of a sandbox number.' });

const faultSchema = z
  .object({
    object: z.literal('sandbox_fault'),
    id: z.string(),
    code: z.number().int().meta({ description: "Meta's error code the send gets." }),
    remaining: z.number().int().meta({ description: 'Sends it still applies to.' }),
    recipient: z.string().nullable(),
    phone_number_id: z.string().nullable(),
    delivery: z.enum(['response', 'status']).meta({ description: 'response: the send is refused; status: accepted, then a `failed` status webhook.' }),
    message: z.string().nullable(),
    details: z.string().nullable(),
    http_status: z.number().int().nullable(),
    created_at: isoDate,
  })
  .meta({ id: 'SandboxFault', description: 'A queued failure of the simulated Cloud API.' });

// The simulator's records are what the answers spread: their fields must be the documented ones.
type Without<T, K extends string> = Omit<T, K>;
const conforms = {
  customer: (c: Customer): Without<z.output<typeof customerSchema>, 'object' | 'conversation' | 'last_message'> => c,
  entry: (e: ChatEntry): Without<z.output<typeof chatEntrySchema>, 'object'> => e,
  fault: (f: Fault): Without<z.output<typeof faultSchema>, 'object'> => f,
};
void conforms;

const number = z.object({ number: z.string().meta({ description: "The sandbox number: our id (num_...) or its phone_number_id.", example: 'num_01jd8v2k3m4n5p6q7r8s9t0v1w' }) });
const customer = number.extend({ waId: z.string().meta({ description: "The customer's WhatsApp number.", example: '16505551234' }) });

const sandboxOperation = (o: Omit<Parameters<typeof apiOperation>[0], 'tags' | 'scopes' | 'rateLimited'>) =>
  apiOperation({ ...o, tags, scopes: [...scopes], rateLimited: false });

export const sandboxPaths: ZodOpenApiPathsObject = {
  '/sandbox/api/numbers': {
    get: sandboxOperation({
      operationId: 'listSandboxNumbers',
      summary: 'Sandbox numbers',
      answers: { 200: { description: "The workspace's sandbox numbers.", schema: listSchema(numberSchema, 'SandboxNumberList') } },
    }),
  },
  '/sandbox/api/numbers/{number}/customers': {
    get: sandboxOperation({
      operationId: 'listSandboxCustomers',
      summary: "A sandbox number's customers",
      description: 'A live number is 403 `not_a_sandbox_number`.',
      path: number,
      answers: { 200: { description: 'The customers, with their conversations.', schema: listSchema(customerSchema, 'SandboxCustomerList') } },
    }),
    post: sandboxOperation({
      operationId: 'addSandboxCustomer',
      summary: 'Add a customer',
      description: 'Adding an existing customer renames it.',
      path: number,
      body: customerInputSchema,
      answers: { 201: { description: 'The customer.', schema: customerSchema } },
    }),
  },
  '/sandbox/api/numbers/{number}/customers/{waId}/messages': {
    get: sandboxOperation({
      operationId: 'getSandboxChat',
      summary: "A customer's chat",
      path: customer,
      answers: { 200: { description: 'The chat, oldest first.', schema: listSchema(chatEntrySchema, 'SandboxMessageList') } },
    }),
    post: sandboxOperation({
      operationId: 'sendAsSandboxCustomer',
      summary: 'Write as the customer',
      description: "The message reaches the gateway as Meta's signed webhook. 201 once the gateway took it; 202 while the simulator is still retrying, as Meta would.",
      path: customer,
      body: customerMessageSchema,
      answers: {
        201: { description: 'Delivered to the gateway.', schema: chatEntrySchema },
        202: { description: 'Not yet taken by the gateway; retried.', schema: chatEntrySchema },
      },
    }),
  },
  '/sandbox/api/numbers/{number}/media': {
    post: sandboxOperation({
      operationId: 'uploadSandboxPhoto',
      summary: 'Upload a photo for the customer to send',
      description: 'Its id goes into an `image` message of the customer.',
      path: number,
      rawBody: { description: 'The photo (JPEG or PNG, up to 5 MB).', content: { 'image/jpeg': {}, 'image/png': {} } },
      answers: { 201: { description: 'The media id.', schema: z.object({ object: z.literal('sandbox_media'), id: z.string() }).meta({ id: 'SandboxMedia' }) } },
    }),
  },
  '/sandbox/api/media/{id}': {
    get: sandboxOperation({
      operationId: 'getSandboxMedia',
      summary: 'Media of a sandbox chat',
      path: z.object({ id: z.string().meta({ description: 'A WhatsApp media id of a sandbox number.', example: '1037543291543636' }) }),
      answers: { 200: { description: 'The bytes, with their type.', content: { 'image/*': {}, 'application/octet-stream': {} } } },
    }),
  },
  '/sandbox/api/faults': {
    post: sandboxOperation({
      operationId: 'addSandboxFault',
      summary: 'Queue a fault',
      description: 'The next `count` sends that match get Meta error `code`, refused at once or as a failed status.',
      body: faultInputSchema,
      answers: { 201: { description: 'The fault.', schema: faultSchema } },
    }),
    get: sandboxOperation({
      operationId: 'listSandboxFaults',
      summary: 'Queued faults',
      answers: { 200: { description: "The workspace's queued faults.", schema: listSchema(faultSchema, 'SandboxFaultList') } },
    }),
    delete: sandboxOperation({
      operationId: 'clearSandboxFaults',
      summary: 'Clear the faults',
      answers: { 200: { description: 'How many were removed.', schema: z.object({ object: z.literal('list'), deleted: z.number().int() }).meta({ id: 'SandboxFaultsCleared' }) } },
    }),
  },
  '/sandbox/api/faults/{id}': {
    delete: sandboxOperation({
      operationId: 'removeSandboxFault',
      summary: 'Remove a fault',
      path: z.object({ id: z.string().meta({ description: "The fault's id.", example: 'flt_0123456789abcdef0123' }) }),
      answers: { 200: { description: 'Removed.', schema: deletedSchema('sandbox_fault', 'DeletedSandboxFault') } },
    }),
  },
  '/sandbox/api/stream': {
    get: sandboxOperation({
      operationId: 'streamSandbox',
      summary: "The sandbox phones' live feed",
      description: 'Server-Sent Events for the page: `customer`, `message`, `status` and `typing` events of the sandbox phones, and `conversation` events (takeover, handback, ...) of their chats.',
      answers: {
        200: {
          description: 'The stream (it stays open).',
          content: eventStream('Server-Sent Events; `data` is JSON.', 'retry: 2000\n\nevent: typing\ndata: {"kind":"typing","phone_number_id":"106540352242922","wa_id":"16505551234"}\n\n'),
        },
      },
    }),
  },
};
