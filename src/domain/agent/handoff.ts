/**
 * Recognising "I want to talk to a person" without a model (the offline provider has none, and
 * with a model it saves a call). Phrases in the languages our users' customers write most; the
 * text is compared without accents and case. A workspace adds its own keywords.
 */
const normalize = (s: string) =>
  s
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();

const HUMAN_REQUEST = [
  // English
  /\b(talk|speak|chat|connect|transfer|put|get)\b.{0,30}\b(to|with|me)\b.{0,20}\b(a |an |some |real |live )*(human|person|agent|someone|somebody|representative|rep|operator|staff|manager|people)\b/,
  /\b(real|live|actual)\s+(human|person|agent|people)\b/,
  /\b(human|customer)\s+(agent|support|service|being)\b/,
  /\b(i want|i need|i d like|can i have|give me)\s+(a |an )?(human|person|agent|representative|operator)\b/,
  /\bare you (a )?(bot|robot|human)\b.*\b(human|person)\b/,
  // Spanish
  /\b(hablar|comunicarme|contactar|pasame|paseme|pasar)\b.{0,30}\b(persona|humano|agente|asesor|representante|operador|alguien)\b/,
  /\b(persona|agente|asesor) (real|humano|de verdad)\b/,
  // Portuguese
  /\b(falar|conversar|atendente|atendimento)\b.{0,30}\b(pessoa|humano|atendente|agente|alguem)\b/,
  // French
  /\b(parler|discuter)\b.{0,30}\b(personne|humain|conseiller|agent|quelqu un)\b/,
  // German
  /\b(sprechen|reden|verbinden)\b.{0,40}\b(mensch|menschen|mitarbeiter|person|berater)\b/,
  /\b(mit einem|einen) (menschen|mitarbeiter|berater)\b/,
  // Italian
  /\b(parlare)\b.{0,30}\b(persona|umano|operatore|agente)\b/,
  // Dutch
  /\b(spreken|praten)\b.{0,30}\b(mens|medewerker|persoon)\b/,
];

export function asksForHuman(text: string): boolean {
  const t = normalize(text);
  if (t.length === 0) return false;
  return HUMAN_REQUEST.some((re) => re.test(t));
}

/** The first configured keyword found in the text (whole words, accents and case ignored). */
export function matchedKeyword(text: string, keywords: string[]): string | undefined {
  const t = ` ${normalize(text)} `;
  return keywords.find((k) => {
    const n = normalize(k);
    return n.length > 0 && t.includes(` ${n} `);
  });
}

/** A question reduced to what identifies it, so that rephrasings of case and punctuation count as one gap. */
export function normalizeQuestion(text: string): string {
  return normalize(text).replace(/\s+/g, ' ').slice(0, 300);
}
