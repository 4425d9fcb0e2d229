// How bin/tctl starts: one bundle compiled from a V8 code cache (scripts/bundle.mjs), import()
// calls routed through bin/tctl, command details defined only for the command that runs. These
// tests assert what start-up loads and that every lazy import still works, never how long it takes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { inPty } from '../helpers/pty.js';
import { REPO_ROOT, TCTL, initialisedCa, tctl, tempDir } from '../helpers/run.js';

const BUNDLE = path.join(REPO_ROOT, 'dist', 'bundle', 'tctl.cjs');

type Route = (source: string, fn: string, name?: string) => string;
const routeDynamicImports = async (): Promise<Route> =>
  ((await import(pathToFileURL(path.join(REPO_ROOT, 'scripts', 'route-imports.mjs')).href)) as { routeDynamicImports: Route }).routeDynamicImports;

/** The built-in modules a run of tctl loads beyond what bare `node` loads. */
function builtinsLoaded(args: string[], cwd: string, env: Record<string, string> = {}): { status: number; modules: string[] } {
  const hook = path.join(cwd, 'module-list.cjs');
  fs.writeFileSync(hook, "process.on('exit', () => require('fs').writeFileSync(process.env.MODULE_LIST, process.moduleLoadList.join('\\n')));\n");
  const list = (argv: string[]) => {
    const out = path.join(cwd, `modules-${Math.random().toString(36).slice(2)}.txt`);
    const r = spawnSync(process.execPath, ['-r', hook, ...argv], { cwd, env: { PATH: process.env.PATH, HOME: cwd, NO_COLOR: '1', MODULE_LIST: out, ...env }, encoding: 'utf8' });
    return { status: r.status ?? -1, modules: fs.readFileSync(out, 'utf8').split('\n') };
  };
  const bare = new Set(list([path.join(cwd, 'module-list.cjs')]).modules);
  const r = list([TCTL, ...args]);
  return { status: r.status, modules: r.modules.filter((m) => !bare.has(m)).map((m) => m.replace(/^NativeModule /, '')) };
}

describe('start-up', () => {
  test('--version and --help load no crypto, streams, terminal or child process modules; auth export loads crypto only for its keys', () => {
    const { cwd, dataDir } = initialisedCa();
    for (const args of [['--version'], ['--help'], ['auth', 'sign', '--help']]) {
      const r = builtinsLoaded(args, cwd);
      assert.equal(r.status, 0);
      const heavy = r.modules.filter((m) => /^(crypto|stream|net|tty|readline|child_process|worker_threads|url)$/.test(m));
      assert.deepEqual(heavy, [], `${args.join(' ')} loaded ${heavy.join(', ')}`);
    }
    const exp = builtinsLoaded(['auth', 'export', '--type=user'], cwd, { TCTL_DATA_DIR: dataDir });
    assert.equal(exp.status, 0);
    assert.ok(exp.modules.includes('crypto'), 'the check can fail: export opens the CA keys');
    assert.deepEqual(exp.modules.filter((m) => /^(net|tty|readline|readline\/promises|child_process|worker_threads)$/.test(m)), []);
  });

  test('the code cache made at build time is accepted by this Node (else every start compiles tctl)', () => {
    const r = spawnSync(process.execPath, ['-e', `const { script } = require(${JSON.stringify(TCTL)}).load(); process.stdout.write(String(script.cachedDataRejected));`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'false');
  });

  test('every import() left in the bundle goes through bin/tctl, and each one resolves from there', async () => {
    const source = fs.readFileSync(BUNDLE, 'utf8');
    // Parsing again finds nothing left to route, and the routed calls name real modules.
    const route = await routeDynamicImports();
    const body = source.slice(source.indexOf('{') + 1, source.lastIndexOf('}'));
    assert.equal(route(body, '__tctlImport'), body);
    const specifiers = [...new Set([...source.matchAll(/__tctlImport\("([^"]+)"\)/g)].map((m) => m[1]!))];
    assert.ok(specifiers.includes('chalk') && specifiers.includes('@inquirer/password'), specifiers.join(' '));
    for (const spec of specifiers) {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(spec)});`], { cwd: path.dirname(TCTL), encoding: 'utf8' });
      assert.equal(r.status, 0, `${spec}: ${r.stderr}`);
    }
  });

  test('routing finds every import() call, whatever its argument, and leaves strings, comments and methods alone', async () => {
    const route = await routeDynamicImports();
    const cases: Array<[string, string]> = [
      ['await import("chalk")', 'await F("chalk")'],
      ['import(`./chunk-${n}.js`).then(f)', 'F(`./chunk-${n}.js`).then(f)'],
      ['const m = await import(name, { with: {} })', 'const m = await F(name, { with: {} })'],
      ['import ( "a" ); import(import("b"))', 'F ( "a" ); F(F("b"))'],
      ['const s = "import(\'x\')"; // import("y")\n/* import(z) */', 'const s = "import(\'x\')"; // import("y")\n/* import(z) */'],
      ['obj.import("x"); const o = { import(a) { return a; } }', 'obj.import("x"); const o = { import(a) { return a; } }'],
    ];
    for (const [input, want] of cases) assert.equal(route(input, 'F'), want, input);
    assert.throws(() => route('const u = import.meta.url;', 'F'), /import\.meta/);
    assert.throws(() => route('import("a"', 'F'), /does not parse/);
  });

  test('a command\'s options are there when it runs and in its own and its parent\'s help', () => {
    const cwd = tempDir();
    for (const args of [['auth', '--help'], ['help', 'auth']]) {
      const auth = tctl(args, { cwd });
      assert.equal(auth.status, 0);
      assert.match(auth.stdout, /^ {2}sign \[options\] /m);
      assert.match(auth.stdout, /^ {2}inspect \[options\] <files\.\.\.> /m);
    }
    for (const args of [['auth', 'sign', '--help'], ['auth', 'help', 'sign']]) {
      const r = tctl(args, { cwd });
      assert.equal(r.status, 0, args.join(' '));
      assert.match(r.stdout, /--batch <file>/);
      assert.match(r.stdout, /--data-dir <dir>/);
    }
    const typo = tctl(['auth', 'sign', '--hots=a.example.com'], { cwd });
    assert.equal(typo.status, 2);
    assert.match(typo.stderr, /did you mean --host\?/);
  });

  test('error colours come from chalk on a terminal (an ES module, imported through bin/tctl)', () => {
    const cwd = tempDir();
    const r = inPty([process.execPath, TCTL, 'auth', 'export', '--type=nope'], [], { cwd, env: { PATH: process.env.PATH!, HOME: cwd, TERM: 'xterm', FORCE_COLOR: '1' } });
    assert.equal(r.status, 2);
    assert.match(r.output, /\x1b\[31mtctl: error:\x1b\[39m invalid --type "nope"/);
  });

  test('a reader that goes away early (tctl auth export | true) ends tctl quietly with exit 0', () => {
    const { cwd, dataDir } = initialisedCa();
    for (let i = 0; i < 3; i++) {
      const r = spawnSync('bash', ['-c', `"$0" "$1" auth export | true; echo "exit=\${PIPESTATUS[0]}" >&2`, process.execPath, TCTL], { cwd, env: { PATH: process.env.PATH, HOME: cwd, TCTL_DATA_DIR: dataDir }, encoding: 'utf8' });
      assert.equal(r.stderr, 'exit=0\n');
    }
  });
});
