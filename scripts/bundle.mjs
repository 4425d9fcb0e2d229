// Bundles the CLI into one CommonJS file that bin/tctl compiles with a V8 code cache made
// here: at start-up Node's ES module loader (a dozen files read and linked asynchronously) and
// compiling our code were most of tctl's time over bare Node. Commands stay lazy: esbuild wraps
// each module a command imports dynamically in a function run on its first import, and V8
// compiles a function only when it first runs (or takes it from the cache).
// Packages stay external (each loads only on the path that needs it): sshpk, yaml, chalk,
// node-forge (src/x509 requires its asn1/pem files lazily), pg (a PostgreSQL backend), the
// @inquirer prompts, and the native addons a bundle cannot hold (fs-ext, pkcs11js).
// Worker threads run bundles of their own (threadEntries below).
import { spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { routeDynamicImports } from './route-imports.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { version, dependencies } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

rmSync(path.join(ROOT, 'dist', 'bundle'), { recursive: true, force: true });

/**
 * The modules that start a worker thread on their own file (`new Worker(new URL(import.meta.url))`,
 * the module then being the thread's entry point too), as `{ bundle name: source file }`. A
 * thread needs a file that runs its module first, so each one is also a bundle of its own beside
 * the CLI's, named after its path, and threadModules below points its import.meta.url there.
 */
function threadEntries() {
  const entries = {};
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, e.name);
      if (e.isDirectory()) walk(file);
      else if (e.name.endsWith('.ts') && /\bnew Worker\(/.test(readFileSync(file, 'utf8'))) {
        entries[path.relative(path.join(ROOT, 'src'), file).replace(/\.ts$/, '').replace(/[\\/]/g, '-')] = file;
      }
    }
  };
  walk(path.join(ROOT, 'src'));
  return entries;
}
const threads = threadEntries();
const threadBundleOf = new Map(Object.entries(threads).map(([name, file]) => [file, name]));

// In a thread module, import.meta.url is its thread bundle's URL (in the CLI's bundle as in its
// own), so `new Worker(new URL(import.meta.url))` starts that module wherever it was bundled.
const threadModules = {
  name: 'thread-modules',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const name = threadBundleOf.get(args.path);
      if (name === undefined) return undefined;
      const url = `require('node:url').pathToFileURL(require('node:path').join(__dirname, ${JSON.stringify(`${name}.cjs`)})).href`;
      return { contents: readFileSync(args.path, 'utf8').replace(/\bimport\.meta\.url\b/g, `(${url})`), loader: 'ts' };
    });
  },
};

// commander requires child_process (for git-style executable subcommands, which tctl has none of)
// when it loads; Node's child_process pulls in net, dgram and the streams, a few ms of every start.
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'lazy-child-process' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-child-process' }, () => ({
      contents: "let cp; module.exports = new Proxy({}, { get: (_, name) => (cp ??= require('node:child_process'))[name] });",
      loader: 'js',
    }));
  },
};

// `import * as fs from 'node:fs'` in a CommonJS bundle copies the module's properties into a new
// object in every file that says it (esbuild's __toESM), most of a ms at start-up. Each built-in
// is instead a module of the bundle that re-exports it: one copy, shared.
const builtins = new Set(builtinModules);
const sharedBuiltins = {
  name: 'shared-builtins',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
      const name = args.path.replace(/^node:/, '');
      if (!builtins.has(name) || /[\\/]node_modules[\\/]/.test(args.importer)) return undefined;
      if (args.namespace === 'shared-builtin') return { path: args.path, external: true };
      return { path: `node:${name}`, namespace: 'shared-builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'shared-builtin' }, (args) => ({ contents: `export * from ${JSON.stringify(args.path)};`, loader: 'js' }));
  },
};

await build({
  entryPoints: { tctl: 'src/cli/main.ts', ...threads },
  absWorkingDir: ROOT,
  outdir: 'dist/bundle',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Every dependency but commander (the command tree, needed by every start), including any added later.
  external: Object.keys(dependencies).filter((name) => name !== 'commander'),
  // import.meta.url as this file's URL, worked out when first asked for (node:url costs start-up time).
  define: { __TCTL_VERSION__: JSON.stringify(version), __TCTL_BUNDLED__: 'true', 'import.meta': '__tctlImportMeta' },
  banner: { js: "const __tctlImportMeta = { get url() { return require('node:url').pathToFileURL(__filename).href; } };" },
  plugins: [lazyChildProcess, sharedBuiltins, threadModules],
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});

// The import() calls left after bundling (of packages: chalk and the prompts are ES modules only)
// are routed to bin/tctl (scripts/route-imports.mjs). The file is written as the function
// bin/tctl calls (CommonJS's module wrapper plus the import() stand-in), so that it is compiled
// as read, with no copy.
const bundleFile = path.join(ROOT, 'dist', 'bundle', 'tctl.cjs');
const routed = routeDynamicImports(readFileSync(bundleFile, 'utf8'), '__tctlImport');
writeFileSync(bundleFile, `(function (exports, require, module, __filename, __dirname, __tctlImport) {'use strict';${routed}\n})`);

// The code cache: made after running the commands people run most, so it holds their functions
// too. Node rejects a cache made by another Node version (or other V8 flags) and compiles as before.
const made = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'code-cache.cjs')], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
if (made.status !== 0) throw new Error(`scripts/code-cache.cjs failed:\n${made.stderr}`);
