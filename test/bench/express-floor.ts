/**
 * `node express-floor.js <port> <json>`: express with the server's settings and one route that answers
 * every GET with the given JSON, for the benchmarks' floor (see measure.ts).
 */
import express from 'express';

const [port, json] = process.argv.slice(2);
const body: unknown = JSON.parse(json!);
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.set('query parser', 'simple');
app.get('/{*path}', (_req, res) => {
  res.json(body);
});
app.listen(Number(port), '127.0.0.1');
