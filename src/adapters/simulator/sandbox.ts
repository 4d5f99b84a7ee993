import type { RequestListener } from 'node:http';
import type { Redis } from 'ioredis';
import type { PhoneNumber, TenancyService } from '../../domain/tenancy/tenancy.service';
import type { TemplateRecord, TemplatesRepo } from '../../domain/templates/templates.port';
import type { Logger } from '../../lib/logger';
import type { GraphClient } from '../whatsapp/graph-api.client';
import { GRAPH_MOUNT } from './graph.router';
import { createPhoneEvents, type PhoneEvents } from './phone-events';
import { createSandboxGraphClient, createRoutedGraphClient } from './sandbox-graph.client';
import { createSelfAddress } from './self-address';
import { createCloudApiSimulator, type CloudApiSimulator, type StatusDelays } from './simulator';
import { createSimulatorStore } from './simulator.store';
import { createWebhookEmitter } from './webhook-emitter';

/**
 * Everything sandbox traffic needs, assembled for the composition root: the Graph client that
 * talks to the simulator, a per-number router between it and Meta, and (in processes that serve
 * HTTP) the simulator itself with its phone events.
 */
export interface Sandbox {
  /** The Graph client of test messages (test keys, sandbox numbers): the simulator. */
  graph: GraphClient;
  /** A Graph client that sends a sandbox number's calls to the simulator and the rest to `live`. */
  routed(live: GraphClient): GraphClient;
  /** Only where the HTTP app is served. */
  simulator: CloudApiSimulator | undefined;
  phoneEvents: PhoneEvents | undefined;
  /** main.ts: the HTTP server listens here (the simulator's webhooks and Graph calls go there). */
  listening(host: string, port: number): void;
  close(): Promise<void>;
}

export function createSandbox(deps: {
  redis: Redis;
  /** A new connection for pub/sub. */
  subscriber: () => Redis;
  prefix: string;
  tenancy: Pick<TenancyService, 'findNumberByPhoneNumberId' | 'listNumbers' | 'credentials'>;
  templates: Pick<TemplatesRepo, 'list'>;
  apiVersion: string;
  gatewayUrl: string | undefined;
  port: number;
  delays: StatusDelays;
  /** The HTTP app, when this process has one: the simulator is served by it. */
  app: () => RequestListener | undefined;
  serve: boolean;
  logger: Logger;
}): Sandbox {
  const self = createSelfAddress({ configuredUrl: deps.gatewayUrl, app: deps.app, port: deps.port, logger: deps.logger });
  const graph = createSandboxGraphClient({ gatewayUrl: () => self.url(), apiVersion: deps.apiVersion, timeoutMs: 15_000 });

  // Which numbers are sandbox numbers: read again after 10 s, or at once for a number it does not
  // know yet (one just added with --sandbox must never be sent to Meta).
  let directory: { at: number; numbers: Promise<PhoneNumber[]> } | undefined;
  const load = () => {
    const loading = deps.tenancy.listNumbers();
    directory = { at: Date.now(), numbers: loading };
    loading.catch(() => (directory = undefined));
    return loading;
  };
  const numbers = async (known: (n: PhoneNumber) => boolean) => {
    const current = !directory || Date.now() - directory.at > 10_000 ? await load() : await directory.numbers;
    return current.some(known) ? current : load();
  };

  let simulator: CloudApiSimulator | undefined;
  let phoneEvents: PhoneEvents | undefined;
  if (deps.serve) {
    const prefix = `${deps.prefix}:sandbox`;
    phoneEvents = createPhoneEvents({ publisher: deps.redis, subscriber: deps.subscriber, prefix, logger: deps.logger });
    simulator = createCloudApiSimulator({
      store: createSimulatorStore(deps.redis, prefix),
      events: phoneEvents,
      webhooks: createWebhookEmitter({ gatewayUrl: () => self.url(), logger: deps.logger }),
      numbers: {
        byPhoneNumberId: (id) => deps.tenancy.findNumberByPhoneNumberId(id),
        all: () => deps.tenancy.listNumbers(),
        credentials: (n) => deps.tenancy.credentials(n),
      },
      templates: async (workspaceId) => {
        const all: TemplateRecord[] = [];
        let startingAfter: string | undefined;
        for (let page = 0; page < 50; page++) {
          const p = await deps.templates.list(workspaceId, {}, { limit: 200, startingAfter });
          all.push(...p.items);
          if (!p.hasMore) break;
          startingAfter = p.items[p.items.length - 1]?.id;
        }
        return all;
      },
      gatewayUrl: () => self.url(),
      delays: deps.delays,
      logger: deps.logger,
    });
  }

  return {
    graph,
    routed: (live) =>
      createRoutedGraphClient({
        live,
        sandbox: graph,
        isSandboxNumber: async (id) => (await numbers((n) => n.phoneNumberId === id)).some((n) => n.phoneNumberId === id && n.sandbox),
        // A WABA goes to the simulator only when all its numbers are sandbox numbers.
        isSandboxWaba: async (id) => {
          const of = (await numbers((n) => n.wabaId === id)).filter((n) => n.wabaId === id);
          return of.length > 0 && of.every((n) => n.sandbox);
        },
        // The simulator's download URLs; Meta's (lookaside.fbsbx.com) never have this path.
        isSandboxUrl: async (url) => URL.canParse(url) && new URL(url).pathname.startsWith(`${GRAPH_MOUNT}/`),
      }),
    simulator,
    phoneEvents,
    listening: (host, port) => self.listening(host, port),
    async close() {
      await simulator?.close();
      await self.close();
    },
  };
}
