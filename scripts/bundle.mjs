// Bundles the CLI so start-up does not pay for resolving dozens of modules; each command is a
// chunk of its own.
// sshpk, yaml, chalk and node-forge stay external: they load only on the paths that need them
// (src/x509 requires forge's asn1/pem files lazily, on a TLS command's first certificate).
// fs-ext (flock for the data dir lock) and pkcs11js (CA keys in a token) are native addons, which a
// bundle cannot hold; pg (node-postgres) loads only when a PostgreSQL backend is used, and
// @inquirer/password only when a passphrase is asked for.
import { readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

// Chunk names carry content hashes: start clean so stale chunks do not pile up.
rmSync(new URL('../dist/bundle', import.meta.url), { recursive: true, force: true });

await build({
  entryPoints: ['src/cli/main.ts'],
  outdir: 'dist/bundle',
  outExtension: { '.js': '.mjs' },
  entryNames: 'tctl',
  chunkNames: 'chunks/[name]-[hash]',
  // Commands stay separate chunks, loaded by their dynamic import() only when run.
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['sshpk', 'yaml', 'chalk', 'fs-ext', 'node-forge', 'pg', 'pkcs11js', '@inquirer/password'],
  define: { __TCTL_VERSION__: JSON.stringify(version) },
  // commander is CommonJS and calls require() for node: built-ins.
  banner: { js: "import { createRequire as __tctlCreateRequire } from 'node:module'; const require = __tctlCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
