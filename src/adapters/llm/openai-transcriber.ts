import OpenAI, { toFile } from 'openai';
import type { Transcriber } from '../../domain/agent/agent.port';

/** Voice notes to text with OpenAI's transcription endpoint (or a compatible server's). */
export function createOpenAiTranscriber(cfg: { apiKey: string; baseUrl: string | undefined; model: string; timeoutMs: number; maxRetries: number }): Transcriber {
  const client = new OpenAI({ apiKey: cfg.apiKey, baseURL: cfg.baseUrl, timeout: cfg.timeoutMs, maxRetries: cfg.maxRetries });
  const extension = (mime: string) => (/ogg|opus/.test(mime) ? 'ogg' : /mpeg|mp3/.test(mime) ? 'mp3' : /mp4|m4a|aac/.test(mime) ? 'm4a' : /amr/.test(mime) ? 'amr' : 'ogg');
  return {
    model: cfg.model,
    async transcribe(audio, mimeType) {
      const file = await toFile(audio, `voice.${extension(mimeType)}`, { type: mimeType.split(';')[0] });
      const r = await client.audio.transcriptions.create({ file, model: cfg.model });
      return { text: r.text };
    },
  };
}
