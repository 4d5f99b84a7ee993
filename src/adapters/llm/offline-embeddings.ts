import { Embeddings, type EmbeddingsParams } from '@langchain/core/embeddings';

/**
 * The offline provider's embeddings: no model, no network, the same vector for the same text on
 * every machine. A text becomes a bag of hashed features (the "hashing trick"), L2-normalised:
 *
 * - word unigrams after light normalisation (lowercase, accents stripped, a crude suffix stemmer
 *   for English, Spanish, Portuguese and French), so "prices" meets "price";
 * - character 3..5-grams of each word with boundary marks, which catch typos ("pasword"),
 *   compounds ("giftcard") and cognates across languages ("veganas" / "vegan");
 * - concepts: a small built-in lexicon maps the everyday vocabulary of customers of a small
 *   business, in the four languages, to shared concepts ("perros", "dogs", "chien" -> pets;
 *   "cuánto cuesta", "price", "fee" -> price), so a question and a passage that share no word can
 *   still meet (see LEXICON);
 * - stopwords in the four languages count a tenth of a content word and give no n-grams; single
 *   letters are dropped.
 *
 * A feature repeated in a text weighs log(1 + weight) rather than its sum, so a passage that says
 * "coffee" five times is not five times about coffee.
 *
 * Each feature is hashed (FNV-1a) to one of 1536 dimensions with a hashed sign, so collisions
 * cancel out on average instead of inflating every similarity. The weights were tuned on
 * test/fixtures/faq-*.json (see test/integration/offline-retrieval.test.ts).
 */
export const OFFLINE_EMBEDDING_DIMENSIONS = 1536;

const WORD_WEIGHT = 1;
const CONCEPT_WEIGHT = 1;
const STOPWORD_WEIGHT = 0.1;
/** Weight of one word's character n-grams, divided by the square root of their number. */
const NGRAM_WEIGHT = 1;
const NGRAM_MIN = 3;
const NGRAM_MAX = 5;
/** Words longer than this are cut (URLs, base64, hashes would otherwise cost n-grams for nothing). */
const MAX_WORD_LENGTH = 30;

// Small, high-frequency lists: the words that carry no topic in a customer question.
const STOPWORD_LIST = `
a about above after again all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has
have having he her here hers him his how i if in into is it its itself just let me more most my
no nor not now of off on once only or other our ours out over own same she should so some such
than that the their theirs them then there these they this those through to too under until up
very was we were what when where which while who whom why will with would you your yours
hi hello please thanks thank ok okay get got im dont cant whats there
de la que el en y a los del se las por un para con no una su al lo como mas pero sus le ya o
este si porque esta entre cuando muy sin sobre tambien me hasta hay donde quien desde todo nos
durante todos uno les ni contra otros ese eso ante ellos e esto mi antes algunos que unos yo otro
otras otra tanto esa estos mucho quienes nada muchos cual poco ella estar estas algunas algo
nosotros tu te ti tus ellas usted ustedes hola gracias puedo puede tienen tiene es hacer
do da em um para com nao uma os no se na por mais as dos como mas ao ele das seu sua ou quando
muito nos ja eu tambem so pelo pela ate isso ela entre depois sem mesmo aos seus quem nas me esse
eles voce essa num nem suas meu minha numa pelos elas qual nos lhe deles essas esses pelas este
dele tu te voces vos lhes meus minhas teu tua teus tuas nosso nossa nossos nossas ola obrigado
le la les un une des du et en est que qui dans ce il pas plus par sur au avec son se ne
je vous nous elle ils elles mais ou donc ni leur leurs mon ma mes ton ta tes sa ses notre
nos votre vos cette ces aux bonjour merci
`;
const STOPWORDS: ReadonlySet<string> = new Set(STOPWORD_LIST.split(/\s+/).filter(Boolean));

/**
 * `concept: words...`, words normalised (no accents). Only words that mean the concept on their
 * own in a customer's question belong here ("where" or "money" do not). Measured on
 * test/fixtures/faq-questions.json: top-1 hit rate 0.71 without the concepts, 0.80 with them;
 * 0.86 on faq-questions-holdout.json, written before the lexicon and not used to tune it.
 */
const LEXICON = `
hours: hour hours open opens opening close closes closed closing schedule timetable horario hora horas abren abre abrir abierto cierran cierra cerrar cerrado aberto abrem fecham fecha fechado horaire horaires heure heures ouvert ouvrez ouvre ferme fermez fermeture
days: monday tuesday wednesday thursday friday saturday sunday weekday weekdays weekend weekends holiday holidays lunes martes miercoles jueves viernes sabado domingo festivo feriado segunda terca quarta quinta sexta lundi mardi mercredi jeudi vendredi samedi dimanche ferie
location: address location located directions street map direccion ubicacion endereco localizacao rua adresse emplacement rue
parking: parking park car cars garage aparcar aparcamiento estacionamiento coche estacionar carro voiture stationnement garer
transport: bus buses train station metro tram subway autobus estacion onibus estacao gare
internet: wifi internet password network contrasena clave senha rede reseau
laptop: laptop laptops computer plug plugs socket sockets outlet charger portatil enchufe tomada ordinateur prise
vegan: vegan vegans vegetarian veggie plant dairy lactose vegano vegana veganos veganas vegetariano vegetariana lactosa vegetaliens vegetalien vegetarien
milk: milk oat soy almond coconut leche avena soja almendra leite aveia lait avoine amande
gluten: gluten celiac coeliac wheat celiaco celiaca trigo coeliaque ble
allergy: allergy allergies allergic allergen allergens nut nuts peanut peanuts sesame alergia alergias alergico alergeno alergenos cacahuete mani amendoim allergie allergique arachide
price: price prices cost costs expensive cheap fee fees charge tip gratuity vat precio precios cuesta cuestan cuanto barato propina preco precos custa quanto gorjeta prix coute combien cher pourboire
loyalty: loyalty reward rewards points stamp stamps fidelidad puntos sello sellos fidelidade pontos carimbo fidelite tampon
gift: gift gifts voucher vouchers present giftcard regalo regalos vale presente cadeau cadeaux
delivery: deliver delivers delivery deliveries takeaway takeout shipping courier uber glovo deliveroo domicilio entrega envio reparto livraison livrer emporter
catering: catering cater office corporate company business meeting meetings platter buffet empresa oficina reunion escritorio reuniao entreprise bureau traiteur
booking: book booking reserve reservation reservations table tables seat seats reserva reservas reservar mesa reserver
venue: rent rental private party parties birthday alquilar alquiler privado fiesta cumpleanos alugar festa aniversario louer prive fete anniversaire
pets: pet pets dog dogs cat cats animal animals puppy perro perros perrito mascota mascotas gato gatos cao caes cachorro animais chien chiens chat chats animaux
refund: refund refunds reimburse reimbursement complaint complaints complain reembolso reembolsar devolucion devolver queja quejas devolucao reclamacao remboursement rembourser plainte
jobs: job jobs hiring career careers vacancy vacancies position positions apply application resume cv empleo empleos vacante curriculum emprego vaga vagas curriculo emploi emplois candidature recrutement
events: event events tasting tastings cupping workshop workshops class classes course lesson lessons music concert evento eventos degustacion taller talleres curso clase musica concierto degustacao aula evenement evenements degustation atelier ateliers cours musique
beans: bean beans roast roasted roastery grind ground whole granos grano tostado molido grao graos torrado moido grains torrefie moulu
subscription: subscription subscriptions subscribe suscripcion suscribir assinatura assinar abonnement abonner
kids: kid kids child children baby babies toddler family families highchair pram buggy stroller nappy diaper nino nina ninos bebe familia trona carrito panal crianca criancas cadeirao fralda enfant enfants famille poussette couche
accessibility: wheelchair accessible accessibility disabled disability ramp lift elevator accesible discapacidad rampa ascensor acessivel deficiencia elevador fauteuil handicap ascenseur
payment: pay paying payment payments card cards credit debit cash visa mastercard amex contactless cheque invoice transfer pagar pago pagos tarjeta tarjetas efectivo credito debito pagamento cartao dinheiro payer paiement carte cartes especes
contact: contact phone call telephone email mail whatsapp instagram facebook telefono llamar correo telefone ligar contato appeler courriel
`;

/**
 * Suffixes stripped once, longest first, keeping a stem of at least 3 letters. Crude on purpose:
 * both sides of every comparison go through the same function, so consistency matters more than
 * linguistics; the character n-grams repair most of what it gets wrong.
 */
const SUFFIXES: ReadonlyArray<readonly [string, string]> = (
  [
    // English
    ['ational', 'ate'],
    ['ations', 'ate'],
    ['ation', 'ate'],
    ['ingly', ''],
    ['ments', ''],
    ['ment', ''],
    ['ness', ''],
    ['ings', ''],
    ['ing', ''],
    ['ies', 'y'],
    ['ied', 'y'],
    ['edly', ''],
    ['ed', ''],
    ['ly', ''],
    // Spanish / Portuguese (after accent stripping: -ción -> cion, -ção -> cao, -ções -> coes)
    ['aciones', 'a'],
    ['iciones', 'i'],
    ['ciones', ''],
    ['cion', ''],
    ['coes', ''],
    ['cao', ''],
    ['amente', ''],
    ['mente', ''],
    ['idades', ''],
    ['idade', ''],
    ['idad', ''],
    ['iendo', ''],
    ['ando', ''],
    ['endo', ''],
    ['ados', ''],
    ['adas', ''],
    ['ado', ''],
    ['ada', ''],
    ['idos', ''],
    ['idas', ''],
    ['ido', ''],
    ['ida', ''],
    // French
    ['ements', ''],
    ['ement', ''],
    ['euses', ''],
    ['euse', ''],
    ['eux', ''],
    // plurals and final vowels, shared
    ['es', ''],
    ['os', ''],
    ['as', ''],
    ['s', ''],
    ['o', ''],
    ['a', ''],
    ['e', ''],
    ['y', ''],
  ] as const
)
  .slice()
  .sort((x, y) => y[0].length - x[0].length);

const MIN_STEM = 3;

/** Lowercase, accents stripped, every run of non letters/digits a single space. */
export function normalizeText(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

export function isStopword(word: string): boolean {
  return STOPWORDS.has(word);
}

/** Crude stemmer for a normalised word (see SUFFIXES). */
export function stem(word: string): string {
  if (word.length <= MIN_STEM || /^\p{N}+$/u.test(word)) return word;
  for (const [suffix, replacement] of SUFFIXES) {
    if (word.endsWith(suffix) && word.length - suffix.length + replacement.length >= MIN_STEM) {
      return word.slice(0, word.length - suffix.length) + replacement;
    }
  }
  return word;
}

/** Stem of a LEXICON word -> its concepts (a word may belong to two). */
const CONCEPTS_BY_STEM: ReadonlyMap<string, readonly string[]> = (() => {
  const map = new Map<string, string[]>();
  for (const line of LEXICON.trim().split('\n')) {
    const [name = '', members = ''] = line.split(':');
    for (const member of members.trim().split(/\s+/)) {
      const key = stem(member);
      const list = map.get(key) ?? [];
      if (!list.includes(name)) list.push(name);
      map.set(key, list);
    }
  }
  return map;
})();

/** The concepts a word (normalised) belongs to, from LEXICON. */
export function conceptsOf(word: string): readonly string[] {
  return CONCEPTS_BY_STEM.get(stem(word)) ?? [];
}

/** Normalised words of a text, each cut to a sane length. */
export function words(text: string): string[] {
  const normalized = normalizeText(text);
  if (!normalized) return [];
  return normalized.split(' ').map((w) => (w.length > MAX_WORD_LENGTH ? w.slice(0, MAX_WORD_LENGTH) : w));
}

// FNV-1a, 32 bits. Hashing a feature's prefix once and continuing over a range of the word gives
// the hash of `prefix + slice` without building that string (most of the cost otherwise).
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnv(state: number, s: string, start = 0, end = s.length): number {
  let h = state;
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}

const WORD_STATE = fnv(FNV_OFFSET, 'w:');
const CONCEPT_STATE = fnv(FNV_OFFSET, 'c:');
const NGRAM_STATE = fnv(FNV_OFFSET, 'g:');

/** Deterministic, L2-normalised 1536-dimension embedding of a text (all zeros for no words). */
export function offlineEmbedding(text: string): number[] {
  // Feature hash -> summed weight; the weights go through log1p once the text is read.
  const features = new Map<number, number>();
  const bump = (hash: number, weight: number) => {
    const key = hash >>> 0;
    features.set(key, (features.get(key) ?? 0) + weight);
  };
  for (const word of words(text)) {
    if (word.length === 1 && !/\d/.test(word)) continue;
    if (STOPWORDS.has(word)) {
      bump(fnv(WORD_STATE, word), STOPWORD_WEIGHT);
      continue;
    }
    const wordStem = stem(word);
    bump(fnv(WORD_STATE, wordStem), WORD_WEIGHT);
    for (const concept of CONCEPTS_BY_STEM.get(wordStem) ?? []) bump(fnv(CONCEPT_STATE, concept), CONCEPT_WEIGHT);
    const marked = `<${word}>`;
    const each = NGRAM_WEIGHT / Math.sqrt(ngramCount(marked.length));
    for (let n = NGRAM_MIN; n <= NGRAM_MAX; n++) {
      for (let i = 0; i + n <= marked.length; i++) bump(fnv(NGRAM_STATE, marked, i, i + n), each);
    }
  }
  const vector = new Float64Array(OFFLINE_EMBEDDING_DIMENSIONS);
  for (const [h, weight] of features) {
    // The sign comes from other bits of a re-mixed hash, independent of the index.
    const sign = Math.imul(h ^ (h >>> 16), 0x45d9f3b) & 0x10000 ? -1 : 1;
    const index = h % OFFLINE_EMBEDDING_DIMENSIONS;
    vector[index] = (vector[index] as number) + sign * Math.log1p(weight);
  }
  let norm = 0;
  for (const v of vector) norm += v * v;
  norm = Math.sqrt(norm);
  return Array.from(vector, (v) => (norm > 0 ? v / norm : 0));
}

function ngramCount(length: number): number {
  let count = 0;
  for (let n = NGRAM_MIN; n <= NGRAM_MAX; n++) count += Math.max(0, length - n + 1);
  return count;
}

/** Cosine similarity of two vectors of the same length (0 when either is all zeros). */
export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/** LangChain embeddings of the offline provider (see offlineEmbedding). */
export class OfflineEmbeddings extends Embeddings {
  constructor(params: EmbeddingsParams = {}) {
    super(params);
  }

  async embedDocuments(documents: string[]): Promise<number[][]> {
    return documents.map((d) => offlineEmbedding(d));
  }

  async embedQuery(document: string): Promise<number[]> {
    return offlineEmbedding(document);
  }
}
