import { Router, type Request, type Response } from 'express';
import type { ConversationsService } from '../../domain/conversations/conversations.service';
import { eventView, type StreamEvent } from '../../domain/events/event-stream';
import type { EventStreams } from '../../domain/events/event-streams';
import type { Logger } from '../../lib/logger';
import { principalOf, requireScope } from '../middleware/auth';

/** Open SSE responses, so that a shutdown can end them instead of waiting for the clients. */
export interface LiveConnections {
  add(end: () => void): () => void;
  closeAll(): void;
}

export function createLiveConnections(): LiveConnections {
  const open = new Set<() => void>();
  return {
    add(end) {
      open.add(end);
      return () => open.delete(end);
    },
    closeAll() {
      for (const end of [...open]) end();
      open.clear();
    },
  };
}

const frame = (e: StreamEvent) => `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(eventView(e))}\n\n`;

/**
 * GET /v1/events/stream (the workspace) and GET /v1/conversations/:id/stream: Server-Sent Events.
 * `Last-Event-ID` (header, or `last_event_id` in the query for clients that cannot set headers)
 * resumes after that event; without it the stream starts with the next event. A comment line
 * every heartbeat keeps proxies from closing an idle stream.
 */
export function eventsRoutes(deps: {
  streams: EventStreams;
  conversations: Pick<ConversationsService, 'get'>;
  live: LiveConnections;
  heartbeatMs: number;
  logger: Logger;
}): Router {
  const router = Router();

  async function serve(req: Request, res: Response, conversationId: string | undefined) {
    const workspaceId = principalOf(res).workspaceId;
    const header = req.get('last-event-id');
    const query = typeof req.query.last_event_id === 'string' ? req.query.last_event_id : undefined;
    const lastEventId = (header ?? query)?.trim() || undefined;
    let started = false;
    const early: StreamEvent[] = [];
    let end = () => {};
    let gone = false;
    res.on('close', () => {
      gone = true;
      end();
    });
    // Errors before the first byte (unknown Last-Event-ID, Redis down) are ordinary JSON errors.
    const listener = await deps.streams.open({
      workspaceId,
      conversationId,
      lastEventId,
      deliver(e) {
        if (started) res.write(frame(e));
        else early.push(e);
      },
      onError(e) {
        deps.logger.warn({ err: { message: e.message } }, 'live stream failed; closing it (the client resumes with Last-Event-ID)');
        end();
      },
    });
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write('retry: 2000\n\n');
    started = true;
    for (const e of early.splice(0)) res.write(frame(e));
    const heartbeat = setInterval(() => {
      res.write(': ping\n\n');
      listener.poll();
    }, deps.heartbeatMs);
    let ended = false;
    const forget = deps.live.add(() => end());
    end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      listener.close();
      forget();
      res.end();
    };
    res.on('error', end);
    if (gone) end(); // the client left while the stream was being opened
  }

  router.get('/v1/events/stream', requireScope('conversations:read'), async (req, res) => {
    await serve(req, res, undefined);
  });

  router.get('/v1/conversations/:id/stream', requireScope('conversations:read'), async (req, res) => {
    const conversation = await deps.conversations.get(principalOf(res).workspaceId, String(req.params.id));
    await serve(req, res, conversation.id);
  });

  return router;
}
