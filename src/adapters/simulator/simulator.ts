import { createGraphApi, type GraphApi } from './graph-api';
import { createPhones, type Phones } from './phones';
import { createSimulatorContext, type SimulatorDeps } from './simulator.context';

/**
 * The built-in WhatsApp Cloud API simulator: what sandbox numbers and test keys talk to instead
 * of Meta. `graph` answers the Graph endpoints the gateway calls (served over HTTP by
 * graph.router.ts, so the gateway's real Graph client is exercised); `phones` is the customers'
 * side (the /sandbox page). Accepted messages get sent / delivered / read status webhooks and
 * customers' messages arrive as signed webhooks, all through the gateway's real ingress.
 */
export interface CloudApiSimulator {
  graph: GraphApi;
  phones: Phones;
  /** Stops pending status webhooks and retries (the rest is in Redis). */
  close(): Promise<void>;
}

export type { SimulatorDeps, StatusDelays } from './simulator.context';

export function createCloudApiSimulator(deps: SimulatorDeps): CloudApiSimulator {
  const ctx = createSimulatorContext(deps);
  return {
    graph: createGraphApi(ctx),
    phones: createPhones(ctx),
    async close() {
      ctx.close();
      await deps.events.close();
    },
  };
}
