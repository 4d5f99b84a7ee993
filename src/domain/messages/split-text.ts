/**
 * Splits text longer than WhatsApp's 4,096 characters into messages that each fit, cutting at
 * paragraph, then sentence, then word boundaries, and only mid-word when a single word is longer
 * than the limit. Nothing is lost: the parts joined by the separators cut at give back the text.
 */
export const WHATSAPP_TEXT_LIMIT = 4096;

export function splitText(text: string, max = WHATSAPP_TEXT_LIMIT): string[] {
  if (max < 1) throw new Error('max must be positive');
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > max) {
    const window = rest.slice(0, max + 1);
    const cut =
      lastBoundary(window, /\n\s*\n/g) ??
      lastBoundary(window, /[.!?。！？…]["'”’)\]]*\s+/g) ??
      lastBoundary(window, /\s+/g) ??
      max;
    parts.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length > 0) parts.push(rest);
  return parts;
}

/** The index just after the last match that ends within the first `window.length - 1` chars. */
function lastBoundary(window: string, re: RegExp): number | undefined {
  let best: number | undefined;
  for (const m of window.matchAll(re)) {
    const end = (m.index ?? 0) + m[0].length;
    // The cut is at most `max` characters in; a boundary at position 0 would make no progress.
    if (end <= window.length - 1 && end > 0) best = end;
  }
  return best;
}
