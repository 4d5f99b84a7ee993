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

export function settingsView(s: AgentSettings) {
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
