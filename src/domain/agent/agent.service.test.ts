import pino from 'pino';
import type { AgentRepo, ConversationContext, InboundForAgent } from './agent-repo.port';
import type { AnswerModel } from './agent.port';
import { createAgentService } from './agent.service';

/** The agent's decisions with in-memory ports (the integration tests cover the real adapters). */
function setup(messages: InboundForAgent[], opts: { window?: Date | null } = {}) {
  const ctx: ConversationContext = {
    workspaceId: 'ws_1',
    workspaceName: 'Bean There',
    settings: {},
    conversationId: 'conv_1',
    mode: 'bot',
    status: 'open',
    numberId: 'num_1',
    sandbox: false,
    contactWaId: '15550001111',
    lastAnsweredMessageId: null,
    windowExpiresAt: opts.window === undefined ? new Date(Date.now() + 3_600_000) : opts.window,
  };
  const replies: string[] = [];
  const answered: string[] = [];
  const repo: AgentRepo = {
    context: async () => ctx,
    unanswered: async () => messages,
    history: async () => [],
    messageExists: async () => true,
    commitReply: async (p) => {
      replies.push(...p.replies.map((r) => String(r.content.text)));
      answered.push(p.answeredUpTo);
      return { committed: true, messages: [] };
    },
    commitHandoff: async (p) => {
      answered.push(p.answeredUpTo);
      return { committed: true, messages: [] };
    },
    markAnswered: async (_w, _c, upTo) => {
      answered.push(upTo);
    },
  };
  const modelCalls: string[] = [];
  const model: AnswerModel = {
    name: 'fake',
    extractive: false,
    answer: async (input) => {
      modelCalls.push(input.question);
      return { answer: { reply: 'ok', confidence: 0.9, source_chunk_ids: [], handoff: { requested: false, reason: null } }, extractive: false, model: 'fake', usage: { inputTokens: 1, outputTokens: 1 } };
    },
    stream: async function* () {},
  };
  const agent = createAgentService({
    repo,
    locks: { tryWithLock: async (_id, fn) => ({ acquired: true, value: await fn() }) },
    retriever: { retrieve: async () => [] },
    model,
    usage: { record: async () => undefined },
    enqueueSend: async () => undefined,
    toGraphBody: (m) => ({ ...m }),
    defaults: { minConfidence: 0.5, handoffKeywords: [], handoffMessage: 'A person will answer.', voiceNoteReply: 'Please type your question.', knowledgeGapThreshold: 3 },
    historyTokens: 500,
    passages: 5,
    logger: pino({ level: 'silent' }),
  });
  return { agent, replies, answered, modelCalls };
}

const msg = (id: string, type: string, content: InboundForAgent['content']): InboundForAgent => ({ id, wamid: null, type, content, createdAt: new Date() });

describe('agent service', () => {
  it('asks the customer to type when a voice note cannot be transcribed (no key)', async () => {
    const s = setup([msg('msg_1', 'audio', { media: { kind: 'audio', id: 'm1', voice: true } })]);
    expect(await s.agent.run({ workspaceId: 'ws_1', conversationId: 'conv_1' })).toMatchObject({ outcome: 'replied' });
    expect(s.replies).toEqual(['Please type your question.']);
    expect(s.modelCalls).toEqual([]);
  });

  it('answers the text beside an untranscribed voice note', async () => {
    const s = setup([msg('msg_1', 'audio', { media: { kind: 'audio', id: 'm1' } }), msg('msg_2', 'text', { text: 'do you have oat milk?' })]);
    await s.agent.run({ workspaceId: 'ws_1', conversationId: 'conv_1' });
    expect(s.modelCalls).toEqual(['do you have oat milk?']);
    expect(s.answered).toEqual(['msg_2']);
  });

  it('marks reactions handled without answering', async () => {
    const s = setup([msg('msg_1', 'reaction', { reaction: { message_id: 'wamid.x', emoji: '❤️' } })]);
    expect(await s.agent.run({ workspaceId: 'ws_1', conversationId: 'conv_1' })).toEqual({ outcome: 'no_answer_needed' });
    expect(s.answered).toEqual(['msg_1']);
    expect(s.modelCalls).toEqual([]);
  });

  it('sends nothing once the 24-hour window has closed', async () => {
    const s = setup([msg('msg_1', 'text', { text: 'hello?' })], { window: new Date(Date.now() - 1000) });
    expect(await s.agent.run({ workspaceId: 'ws_1', conversationId: 'conv_1' })).toEqual({ outcome: 'window_closed' });
    expect(s.replies).toEqual([]);
    expect(s.modelCalls).toEqual([]);
  });

  it('describes buttons and documents to the model', async () => {
    const s = setup([
      msg('msg_1', 'interactive', { interactive: { type: 'button_reply', id: 'b1', title: 'Opening hours' } }),
      msg('msg_2', 'document', { text: 'menu.pdf', media: { kind: 'document', id: 'd1', filename: 'menu.pdf' } }),
    ]);
    await s.agent.run({ workspaceId: 'ws_1', conversationId: 'conv_1' });
    expect(s.modelCalls).toEqual(['[tapped] Opening hours\n[document: menu.pdf]']);
  });
});
