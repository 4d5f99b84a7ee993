import { createGraphClient, type GraphClient, type GraphClientOptions } from '../whatsapp/graph-api.client';
import { GRAPH_MOUNT } from './graph.router';

/**
 * The Graph client of sandbox traffic: the same client as for Meta (createGraphClient), pointed
 * at the simulator the gateway serves at <its own address>/sandbox/graph. The address is only
 * known once the server listens, so the client is made on first use (and again if it moves).
 */
export function createSandboxGraphClient(opts: Omit<GraphClientOptions, 'baseUrl'> & { gatewayUrl: () => Promise<string> }): GraphClient {
  let current: { base: string; client: GraphClient } | undefined;
  const client = async () => {
    const base = `${await opts.gatewayUrl()}${GRAPH_MOUNT}`;
    if (current?.base !== base) current = { base, client: createGraphClient({ ...opts, baseUrl: base }) };
    return current.client;
  };
  return {
    listTemplates: async (...a) => (await client()).listTemplates(...a),
    sendMessage: async (...a) => (await client()).sendMessage(...a),
    getMediaInfo: async (...a) => (await client()).getMediaInfo(...a),
    downloadMedia: async (...a) => (await client()).downloadMedia(...a),
    markRead: async (...a) => (await client()).markRead(...a),
  };
}

/**
 * One Graph client for the workers that act on a number (media downloads, read receipts,
 * template sync): a sandbox number's calls go to the simulator, every other number's to Meta.
 * Sends choose by message instead (a test key's message on a live number is sandbox traffic too),
 * in the send service.
 */
export function createRoutedGraphClient(deps: {
  live: GraphClient;
  sandbox: GraphClient;
  isSandboxNumber(phoneNumberId: string): Promise<boolean>;
  isSandboxWaba(wabaId: string): Promise<boolean>;
  isSandboxUrl(url: string): Promise<boolean>;
}): GraphClient {
  const byNumber = async (phoneNumberId: string | undefined) => (phoneNumberId !== undefined && (await deps.isSandboxNumber(phoneNumberId)) ? deps.sandbox : deps.live);
  return {
    listTemplates: async (token, wabaId) => ((await deps.isSandboxWaba(wabaId)) ? deps.sandbox : deps.live).listTemplates(token, wabaId),
    sendMessage: async (token, phoneNumberId, body) => (await byNumber(phoneNumberId)).sendMessage(token, phoneNumberId, body),
    getMediaInfo: async (token, mediaId, phoneNumberId) => (await byNumber(phoneNumberId)).getMediaInfo(token, mediaId, phoneNumberId),
    downloadMedia: async (token, url) => ((await deps.isSandboxUrl(url)) ? deps.sandbox : deps.live).downloadMedia(token, url),
    markRead: async (token, phoneNumberId, wamid) => (await byNumber(phoneNumberId)).markRead(token, phoneNumberId, wamid),
  };
}
