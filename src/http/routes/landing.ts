import { Router } from 'express';
// The package's main module loads the whole UI bundle into the server; only its folder is needed.
import getAbsoluteFSPath from 'swagger-ui-dist/absolute-path.js';
import express from 'express';
import type { Services } from '../../services.js';
import { onlyMethods } from '../methods.js';
import { jsonOnlyQuerySchema, noQuerySchema, queryParser } from '../query.js';
import { OGC_REL } from '../representations.js';
import { buildOpenApiDocument } from '../../../openapi/document.js';

export const CONFORMANCE_CLASSES = [
  'core',
  'ogc-process-description',
  'json',
  'oas30',
  'job-list',
  'dismiss',
  'callback',
  'html',
].map((name) => `http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/${name}`);

const OPENAPI_TYPE = 'application/vnd.oai.openapi+json;version=3.0';

export function landingRoutes(services: Services): Router {
  const { representations, config, queryAjv } = services;
  const router = Router();
  const parseNone = queryParser(queryAjv, noQuerySchema);
  const parseJsonOnly = queryParser(queryAjv, jsonOnlyQuerySchema);
  const openApi = JSON.stringify(buildOpenApiDocument(services));

  router.route('/').get((req, res) => {
    parseNone(req.query);
    res.json({
      title: config.server.title,
      description: config.server.description,
      links: [
        { href: representations.url('/'), rel: 'self', type: 'application/json', title: 'This document' },
        { href: representations.url('/api'), rel: 'service-desc', type: OPENAPI_TYPE, title: 'The API definition (OpenAPI 3.0)' },
        { href: representations.url('/api.html'), rel: 'service-doc', type: 'text/html', title: 'The API documentation (Swagger UI)' },
        { href: representations.url('/conformance'), rel: `${OGC_REL}/conformance`, type: 'application/json', title: 'Conformance classes' },
        { href: representations.url('/processes'), rel: `${OGC_REL}/processes`, type: 'application/json', title: 'The processes' },
        { href: representations.url('/jobs'), rel: `${OGC_REL}/job-list`, type: 'application/json', title: 'The jobs' },
        { href: representations.url('/', { f: 'html' }), rel: 'alternate', type: 'text/html', title: 'This document as a page' },
      ],
    });
  }).all(onlyMethods('GET'));

  router.route('/conformance').get((req, res) => {
    parseNone(req.query);
    res.json({ conformsTo: CONFORMANCE_CLASSES });
  }).all(onlyMethods('GET'));

  router.route('/api').get((req, res) => {
    parseJsonOnly(req.query);
    res.type(OPENAPI_TYPE).send(openApi);
  }).all(onlyMethods('GET'));

  // Swagger UI from the installed package: this server must work without reaching any CDN.
  router.get('/api.html', (_req, res) => {
    res.type('html').send(swaggerPage(config.server.title));
  });
  router.get('/swagger-ui/swagger-ui-init.js', (_req, res) => {
    res.type('js').send("window.ui = SwaggerUIBundle({ url: 'api', dom_id: '#swagger-ui', deepLinking: true });\n");
  });
  router.use('/swagger-ui', express.static(getAbsoluteFSPath(), { index: false, maxAge: '1h' }));
  return router;
}

function swaggerPage(title: string): string {
  const escaped = title.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>${escaped} – API</title>
  <link rel="stylesheet" href="swagger-ui/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="swagger-ui/swagger-ui-bundle.js"></script>
  <script src="swagger-ui/swagger-ui-init.js"></script>
</body>
</html>`;
}
