// Run by `npm run build` after tsc: bundles each client module of dist/src in place, with only the parts
// of its packages that it re-exports (docs/decisions/0013-bundled-clients.md).
import { build } from 'esbuild';

const CLIENTS = ['kubernetes/client-node.js', 's3/client.js'];

await Promise.all(
  CLIENTS.map((client) => {
    const file = new URL(`../dist/src/${client}`, import.meta.url).pathname;
    return build({
      entryPoints: [file],
      outfile: file,
      allowOverwrite: true,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // The ES module builds where a package has them (the AWS SDK's): they are what tree-shaking can cut.
      mainFields: ['module', 'main'],
      // The server's own undici (cluster.ts) and client-node's are one package: load it once.
      external: ['undici'],
      // CommonJS dependencies call require(), which an ES module does not have.
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
      // Names are kept, so stack traces stay readable.
      minifyWhitespace: true,
      minifySyntax: true,
      sourcemap: true,
      logLevel: 'warning',
    });
  }),
);
