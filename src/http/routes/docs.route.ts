import express, { Router, type Response } from 'express';
import getAbsoluteFSPath from 'swagger-ui-dist/absolute-path.js';
import { createOpenApiDocument, type OpenApiDocument } from '../openapi/document';

/**
 * GET /openapi.json (the OpenAPI 3.1 document, built once when the app is built) and GET /docs,
 * an API reference rendered by Swagger UI. Swagger UI's files are served from the installed
 * swagger-ui-dist package (no CDN); the page has no inline script or style, and its CSP lets it
 * load only this origin's files and call only this origin (the document, and "Try it out").
 */

/** Same policy as the console's: nothing from another origin, no inline script, no framing. */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  // Swagger UI's stylesheet draws its icons as data: SVGs.
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/** The files of swagger-ui-dist the page uses; the package's own index.html (the Petstore demo) is not served. */
const ASSETS = new Set(['/swagger-ui.css', '/swagger-ui-bundle.js', '/favicon-32x32.png', '/favicon-16x16.png']);

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>WhatsApp agent gateway API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png" sizes="32x32">
</head>
<body>
<noscript>This page needs JavaScript. The document itself is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/docs.js"></script>
</body>
</html>
`;

// The validator badge would send the document to validator.swagger.io: off.
const SCRIPT = `'use strict';
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  docExpansion: 'list',
  defaultModelsExpandDepth: 0,
  displayRequestDuration: true,
  persistAuthorization: false,
});
`;

function securityHeaders(res: Response): void {
  res.set({
    'Content-Security-Policy': DOCS_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
  });
}

export function docsRoutes(opts: { document?: OpenApiDocument } = {}): Router {
  const document = opts.document ?? createOpenApiDocument();
  const body = JSON.stringify(document);
  const router = Router();

  router.get('/openapi.json', (_req, res) => {
    res.set({ 'Cache-Control': 'no-cache', 'Access-Control-Allow-Origin': '*', 'X-Content-Type-Options': 'nosniff' });
    res.type('application/json').send(body);
  });

  router.get(['/docs', '/docs/'], (_req, res) => {
    securityHeaders(res);
    res.set('Cache-Control', 'no-cache').type('html').send(PAGE);
  });

  router.get('/docs/docs.js', (_req, res) => {
    securityHeaders(res);
    res.set('Cache-Control', 'no-cache').type('text/javascript').send(SCRIPT);
  });

  const assets = express.static(getAbsoluteFSPath(), { index: false, redirect: false, fallthrough: true, maxAge: '1h' });
  router.use('/docs/assets', (req, res, next) => {
    if (!ASSETS.has(req.path)) return next();
    securityHeaders(res);
    assets(req, res, next);
  });

  return router;
}
