import { z } from 'zod';
import type { UsageSummary } from './usage.port';

const isoDate = z.iso.datetime().meta({ example: '2026-11-24T10:00:00.000Z' });

/** The documented shape of `usageView` (GET /v1/usage); the OpenAPI document is built from it. */
export const usageSchema = z
  .object({
    object: z.literal('usage'),
    from: isoDate,
    to: isoDate,
    tokens: z.object({ input: z.number().int(), output: z.number().int(), total: z.number().int() }),
    cost_usd: z.number().meta({ description: 'Estimated from MODEL_PRICES.' }),
    models: z.array(
      z.object({
        kind: z.string().meta({ description: 'chat, embedding or transcription.' }),
        model: z.string().nullable(),
        calls: z.number().int(),
        input_tokens: z.number().int(),
        output_tokens: z.number().int(),
        cost_usd: z.number(),
      }),
    ),
    answers: z.number().int().meta({ description: 'Answers the AI agent stored.' }),
    handoffs: z.number().int(),
    messages: z.object({
      in: z.number().int(),
      out: z.number().int(),
      by_pricing_category: z.record(z.string(), z.number()).meta({ description: "Outbound messages by Meta's pricing category." }),
    }),
  })
  .meta({ id: 'Usage', description: "A workspace's model usage, estimated cost and message counts over a period." });
export type UsageView = z.output<typeof usageSchema>;

export function usageView(u: UsageSummary, from: Date, to: Date): UsageView {
  return {
    object: 'usage',
    from: from.toISOString(),
    to: to.toISOString(),
    tokens: u.tokens,
    cost_usd: u.costUsd,
    models: u.byKind.map((k) => ({ kind: k.kind, model: k.model, calls: k.calls, input_tokens: k.inputTokens, output_tokens: k.outputTokens, cost_usd: k.costUsd })),
    answers: u.answers,
    handoffs: u.handoffs,
    messages: { in: u.messages.in, out: u.messages.out, by_pricing_category: u.byPricingCategory },
  };
}
