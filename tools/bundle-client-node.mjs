// Run by `npm run build` after tsc: bundles dist/src/kubernetes/client-node.js in place, with only the
// parts of @kubernetes/client-node it re-exports (docs/decisions/0013-bundled-kubernetes-client.md).
import { build } from 'esbuild';

const file = new URL('../dist/src/kubernetes/client-node.js', import.meta.url).pathname;
await build({
  entryPoints: [file],
  outfile: file,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The server's own undici (cluster.ts) and client-node's are one package: load it once.
  external: ['undici'],
  // client-node's CommonJS dependencies call require(), which an ES module does not have.
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  sourcemap: true,
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
