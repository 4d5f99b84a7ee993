import type { Request, RequestHandler } from 'express';

/** Where request durations go (a Prometheus histogram in production). */
export interface HttpMetricsRecorder {
  observe(labels: { method: string; route: string; status_class: string }, seconds: number): void;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The route template that served a request ("/v1/messages/:id"), never its URL: ids in paths
 * would give every message its own time series. "unmatched" when no route handled it (404s,
 * and requests refused before a route, such as a missing API key). Routers are mounted without
 * parameters, so req.baseUrl holds no ids.
 */
export function routeTemplate(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  const template = Array.isArray(path) ? path[0] : path;
  return typeof template === 'string' ? `${req.baseUrl}${template}` : 'unmatched';
}

/** Records one answered request; `started` is process.hrtime.bigint() when it arrived. */
export function observeRequest(recorder: HttpMetricsRecorder, method: string, route: string, status: number, started: bigint): void {
  recorder.observe(
    { method: METHODS.has(method) ? method : 'OTHER', route, status_class: `${Math.floor(status / 100)}xx` },
    Number(process.hrtime.bigint() - started) / 1e9,
  );
}

/** Times every request, from the moment it reaches the app to the last byte of its answer. */
export function httpMetrics(recorder: HttpMetricsRecorder): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => observeRequest(recorder, req.method, routeTemplate(req), res.statusCode, started));
    next();
  };
}
