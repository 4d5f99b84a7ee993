// The public API, as the console uses it: Bearer key, JSON, the error envelope turned into ApiError.

export class ApiError extends Error {
  constructor({ status, type, code, message, param, requestId }) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
    this.requestId = requestId;
  }
}

/** A random id that works outside secure contexts too (crypto.randomUUID needs https or localhost). */
export function randomId(prefix = '') {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function createApi(token, { onUnauthorized = () => {} } = {}) {
  async function request(method, path, { query, body, idempotencyKey } = {}) {
    const url = new URL(path, location.origin);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
    const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
    let res;
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch {
      throw new ApiError({ status: 0, type: 'network_error', code: 'network_error', message: 'Could not reach the gateway. Check the connection and try again.' });
    }
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!res.ok) {
      const e = json?.error ?? {};
      const error = new ApiError({
        status: res.status,
        type: e.type ?? 'api_error',
        code: e.code ?? `http_${res.status}`,
        message: e.message ?? `The gateway answered HTTP ${res.status}.`,
        param: e.param,
        requestId: e.request_id ?? res.headers.get('x-request-id') ?? undefined,
      });
      if (res.status === 401) onUnauthorized(error);
      throw error;
    }
    return json;
  }
  return {
    get: (path, query) => request('GET', path, { query }),
    post: (path, body = {}, opts = {}) => request('POST', path, { body, ...opts }),
  };
}
