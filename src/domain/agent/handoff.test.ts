import { asksForHuman, matchedKeyword, normalizeQuestion } from './handoff';

describe('asksForHuman', () => {
  it.each([
    'can I talk to a person',
    'Can I speak with a real human please?',
    'I want a human',
    'connect me to an agent',
    'Quiero hablar con una persona',
    '¿Puedo hablar con un asesor?',
    'Quero falar com um atendente',
    'Je voudrais parler à un conseiller',
    'Ich möchte mit einem Mitarbeiter sprechen',
    'Posso parlare con un operatore?',
    'live agent',
    'customer service please',
  ])('recognises %p', (text) => expect(asksForHuman(text)).toBe(true));

  it.each([
    'what time do you open?',
    'do you have oat milk',
    'is the person who made my coffee working today',
    'the agent of change is coffee',
    '',
    '👍',
  ])('leaves %p to the agent', (text) => expect(asksForHuman(text)).toBe(false));
});

describe('matchedKeyword', () => {
  it('matches whole words, without case or accents', () => {
    expect(matchedKeyword('I want a REFUND now', ['refund', 'lawyer'])).toBe('refund');
    expect(matchedKeyword('Reembolsó', ['reembolso'])).toBe('reembolso');
    expect(matchedKeyword('refunds policy', ['refund'])).toBeUndefined();
    expect(matchedKeyword('anything', [])).toBeUndefined();
  });
});

describe('normalizeQuestion', () => {
  it('folds case, accents and punctuation', () => {
    expect(normalizeQuestion('  Do you sell GIFT cards?? ')).toBe('do you sell gift cards');
    expect(normalizeQuestion('¿Tienen café descafeinado?')).toBe('tienen cafe descafeinado');
  });
});
