import { MarkdownTextSplitter, RecursiveCharacterTextSplitter } from '@langchain/textsplitters';
import { convert } from 'html-to-text';

/**
 * Turning a document into passages the retriever can rank: HTML becomes readable text first
 * (html-to-text keeps headings, lists and link text), Markdown is split on its structure, plain
 * text on paragraphs then sentences. Chunks of about 1,000 characters with a small overlap keep
 * one answer per passage in FAQ-like material while long documents still fit the prompt.
 */
export const CHUNK_SIZE = 1_000;
export const CHUNK_OVERLAP = 150;

export function toPlainText(content: string, contentType: 'text' | 'markdown' | 'html'): string {
  if (contentType !== 'html') return content;
  return convert(content, {
    wordwrap: false,
    selectors: [
      { selector: 'a', options: { ignoreHref: true } },
      { selector: 'img', format: 'skip' },
      { selector: 'h1', options: { uppercase: false } },
      { selector: 'h2', options: { uppercase: false } },
      { selector: 'h3', options: { uppercase: false } },
      { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false } },
    ],
  });
}

export async function splitDocument(content: string, contentType: 'text' | 'markdown' | 'html'): Promise<string[]> {
  const text = toPlainText(content, contentType).replace(/\r\n?/g, '\n').trim();
  if (text.length === 0) return [];
  const options = { chunkSize: CHUNK_SIZE, chunkOverlap: CHUNK_OVERLAP };
  const splitter =
    contentType === 'markdown'
      ? new MarkdownTextSplitter(options)
      : new RecursiveCharacterTextSplitter({ ...options, separators: ['\n\n', '\n', '. ', '? ', '! ', '; ', ', ', ' ', ''] });
  const chunks = await splitter.splitText(text);
  return chunks.map((c) => c.trim()).filter((c) => c.length > 0);
}

/** A rough token count (about 4 characters per token in English) for budgets and usage. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
