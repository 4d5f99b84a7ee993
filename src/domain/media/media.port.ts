import type { Readable } from 'node:stream';

/** Where inbound media bytes live: local disk, or Supabase Storage. */
export interface MediaStorage {
  kind: 'local' | 'supabase';
  put(key: string, data: Buffer, contentType: string): Promise<void>;
  /** null when there is no object under that key. */
  open(key: string): Promise<{ stream: Readable; size: number | undefined } | null>;
}

export interface MediaRecord {
  id: string;
  workspaceId: string;
  messageId: string;
  metaMediaId: string;
  mimeType: string | null;
  sha256: string | null;
  sizeBytes: number | null;
  storage: 'local' | 'supabase' | null;
  storageKey: string | null;
  status: 'pending' | 'stored' | 'failed';
  error: string | null;
  phoneNumberId: string;
  metaPhoneNumberId: string;
}

export interface MediaRepo {
  get(workspaceId: string, id: string): Promise<MediaRecord | null>;
  findByMessage(workspaceId: string, messageId: string): Promise<MediaRecord | null>;
  markStored(id: string, v: { storage: MediaStorage['kind']; key: string; mimeType: string; sha256: string; size: number }): Promise<void>;
  markFailed(id: string, error: string): Promise<void>;
}

/** The stored bytes of an inbound message's media (voice notes for transcription). */
export async function readMessageMedia(
  repo: MediaRepo,
  storage: MediaStorage,
  workspaceId: string,
  messageId: string,
): Promise<{ status: 'stored'; data: Buffer; mimeType: string } | { status: 'pending' | 'unavailable' }> {
  const m = await repo.findByMessage(workspaceId, messageId);
  if (!m) return { status: 'unavailable' };
  if (m.status === 'pending') return { status: 'pending' };
  if (m.status !== 'stored' || !m.storageKey) return { status: 'unavailable' };
  const opened = await storage.open(m.storageKey);
  if (!opened) return { status: 'unavailable' };
  const parts: Buffer[] = [];
  for await (const chunk of opened.stream) parts.push(Buffer.from(chunk as Buffer));
  return { status: 'stored', data: Buffer.concat(parts), mimeType: m.mimeType ?? 'audio/ogg' };
}
