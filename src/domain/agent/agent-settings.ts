import { z } from 'zod';

/**
 * What a business can tell its agent, kept in `workspaces.settings.agent`. Every field has a
 * default from the configuration, so a workspace with no settings still gets a sensible agent.
 */
export const agentSettingsSchema = z.strictObject({
  persona: z
    .strictObject({
      name: z.string().trim().min(1).max(100),
      tone: z.string().trim().max(200),
      instructions: z.string().max(4_000),
    })
    .partial(),
  handoff_message: z.string().trim().min(1).max(1_000),
  handoff_keywords: z.array(z.string().trim().min(1).max(100)).max(100),
  voice_note_reply: z.string().trim().min(1).max(1_000),
  min_confidence: z.number().min(0).max(1),
  knowledge_gap_threshold: z.number().int().min(1).max(100_000),
  /** After a handback, answer the customer messages left unanswered during the takeover. */
  answer_after_handback: z.boolean(),
}).partial();
export type AgentSettingsInput = z.infer<typeof agentSettingsSchema>;

export interface AgentSettings {
  persona: { name: string; tone: string; instructions: string };
  handoffMessage: string;
  handoffKeywords: string[];
  voiceNoteReply: string;
  minConfidence: number;
  knowledgeGapThreshold: number;
  answerAfterHandback: boolean;
}

export interface AgentDefaults {
  minConfidence: number;
  handoffKeywords: string[];
  handoffMessage: string;
  voiceNoteReply: string;
  knowledgeGapThreshold: number;
}

/** The workspace's settings over the configured defaults; a malformed stored value is ignored. */
export function resolveAgentSettings(workspaceName: string, stored: unknown, defaults: AgentDefaults): AgentSettings {
  const parsed = agentSettingsSchema.safeParse(stored ?? {});
  const s = parsed.success ? parsed.data : {};
  return {
    persona: {
      name: s.persona?.name ?? `${workspaceName} assistant`,
      tone: s.persona?.tone ?? 'friendly, concise and professional',
      instructions: s.persona?.instructions ?? '',
    },
    handoffMessage: s.handoff_message ?? defaults.handoffMessage,
    handoffKeywords: s.handoff_keywords ?? defaults.handoffKeywords,
    voiceNoteReply: s.voice_note_reply ?? defaults.voiceNoteReply,
    minConfidence: s.min_confidence ?? defaults.minConfidence,
    knowledgeGapThreshold: s.knowledge_gap_threshold ?? defaults.knowledgeGapThreshold,
    answerAfterHandback: s.answer_after_handback ?? false,
  };
}

/** The documented shape of `settingsView`: every field resolved (the workspace's value or the default). */
export const agentSettingsViewSchema = z
  .object({
    object: z.literal('agent_settings'),
    persona: z.object({ name: z.string(), tone: z.string(), instructions: z.string() }),
    handoff_message: z.string().meta({ description: 'Sent to the customer when the bot hands the conversation to a person.' }),
    handoff_keywords: z.array(z.string()).meta({ description: 'A customer message containing one of these hands off at once.' }),
    voice_note_reply: z.string().meta({ description: 'The answer to a voice note that cannot be transcribed.' }),
    min_confidence: z.number().min(0).max(1).meta({ description: 'Answers below this confidence hand off instead.' }),
    knowledge_gap_threshold: z.number().int().meta({ description: 'How often a question must go unanswered before `knowledge_gap.detected`.' }),
    answer_after_handback: z.boolean().meta({ description: 'After a handback, answer the customer messages left unanswered during the takeover.' }),
  })
  .meta({ id: 'AgentSettings', description: "The AI agent's persona and handoff settings." });
export type AgentSettingsView = z.output<typeof agentSettingsViewSchema>;

export function settingsView(s: AgentSettings): AgentSettingsView {
  return {
    object: 'agent_settings' as const,
    persona: s.persona,
    handoff_message: s.handoffMessage,
    handoff_keywords: s.handoffKeywords,
    voice_note_reply: s.voiceNoteReply,
    min_confidence: s.minConfidence,
    knowledge_gap_threshold: s.knowledgeGapThreshold,
    answer_after_handback: s.answerAfterHandback,
  };
}
