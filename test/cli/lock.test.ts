// The data dir lock across PID namespaces: a container sharing the data dir sees other pids, so
// nothing may depend on a pid. Needs unshare(1) with CAP_SYS_ADMIN (root); skipped otherwise.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, TCTL, initialisedCa, openssh } from '../helpers/run.js';

const UNSHARE = ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child'];
const canUnshare = spawnSync(UNSHARE[0]!, [...UNSHARE.slice(1), 'true']).status === 0;
const LOCK_MODULE = pathToFileURL(path.join(REPO_ROOT, 'dist', 'src', 'store', 'lock.js')).href;

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
  /** Date.now() when the process ended */
  at: number;
}

/** Starts a command; `started` resolves when its stdout first says `ready` (if given). */
function start(argv: string[], opts: { cwd: string; env: Record<string, string>; ready?: string }) {
  const p = spawn(argv[0]!, argv.slice(1), {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH!, HOME: opts.cwd, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let onReady: () => void = () => {};
  const started = new Promise<void>((resolve) => (onReady = resolve));
  p.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (opts.ready !== undefined && stdout.includes(opts.ready)) onReady();
  });
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<Exit>((resolve) => p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, at: Date.now() })));
  return { process: p, started, exited };
}

/**
 * Holds the lock through the real lock module for holdMs, then reports whether issued.jsonl
 * changed while it held it: a broken lock shows as "CHANGED".
 */
function lockHolder(cwd: string, dataDir: string, holdMs: number, namespaced: boolean) {
  const code = `
    import * as fs from 'node:fs';
    const { withLock } = await import(process.env.LOCK_MODULE);
    const log = process.env.DATA_DIR + '/issued.jsonl';
    const size = () => { try { return fs.statSync(log).size; } catch { return -1; } };
    withLock(process.env.DATA_DIR, () => {
      const before = size();
      process.stdout.write('locked\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.env.HOLD_MS));
      process.stdout.write(size() === before ? 'untouched\\n' : 'CHANGED\\n');
    });`;
  const node = [process.execPath, '--input-type=module', '-e', code];
  return start(namespaced ? [...UNSHARE, ...node] : node, {
    cwd,
    env: { LOCK_MODULE, DATA_DIR: dataDir, HOLD_MS: String(holdMs) },
    ready: 'locked',
  });
}

function signer(cwd: string, dataDir: string, user: string, namespaced: boolean) {
  const argv = [process.execPath, TCTL, 'auth', 'sign', `--user=${user}`, `--out=${user}`, '--ttl=1h', '--data-dir', dataDir];
  return start(namespaced ? [...UNSHARE, ...argv] : argv, { cwd, env: {} });
}

test('signers in and out of PID namespaces at once never share a serial', { skip: !canUnshare && 'unshare --pid needs root' }, async () => {
  const { cwd, dataDir, run } = initialisedCa();
  const n = 48;
  const t0 = Date.now();
  const runs = Array.from({ length: n }, (_, i) => signer(cwd, dataDir, `u${i}`, i % 2 === 0).exited);
  const exits = await Promise.all(runs);
  for (const [i, e] of exits.entries()) assert.equal(e.code, 0, `u${i}: ${e.stderr}`);
  const elapsed = Date.now() - t0;

  const records = fs
    .readFileSync(path.join(dataDir, 'issued.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { serial: string; keyId: string });
  assert.equal(records.length, n, 'one log line per certificate');
  assert.equal(new Set(records.map((r) => r.serial)).size, n, 'every serial unique');
  assert.deepEqual(records.map((r) => r.keyId).sort(), Array.from({ length: n }, (_, i) => `u${i}`).sort());
  for (const r of records) {
    const l = openssh('ssh-keygen', ['-L', '-f', path.join(cwd, `${r.keyId}-cert.pub`)]);
    assert.equal(l.status, 0, l.stderr);
    assert.equal(/Serial: (\d+)/.exec(l.stdout)?.[1], r.serial, `${r.keyId}: the file holds the certificate the log records`);
  }
  const v = run(['audit', 'verify']);
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, new RegExp(`: ${n + 1} entries, hash chain intact`));
  assert.ok(elapsed < 120_000, `took ${elapsed} ms`);
});

test('a holder killed with SIGKILL releases the lock at once', async () => {
  const { cwd, dataDir, run } = initialisedCa();
  const holder = lockHolder(cwd, dataDir, 60_000, false);
  await holder.started;
  holder.process.kill('SIGKILL');
  await holder.exited;
  const t0 = Date.now();
  const r = run(['auth', 'sign', '--user=joe', '--out=joe']);
  const waited = Date.now() - t0;
  assert.equal(r.status, 0, r.stderr);
  assert.ok(waited < 10_000, `the next command waited ${waited} ms (the lock wait is 30 s)`);
});

for (const [holderNs, waiterNs] of [
  [true, false],
  [false, true],
] as const) {
  test(`a live holder ${holderNs ? 'in another PID namespace' : 'outside the waiter\'s PID namespace'} is never broken; the waiter goes after it`, { skip: !canUnshare && 'unshare --pid needs root' }, async () => {
    const { cwd, dataDir } = initialisedCa();
    const holdMs = 3_000;
    const holder = lockHolder(cwd, dataDir, holdMs, holderNs);
    await holder.started;
    const note = fs.readFileSync(path.join(dataDir, 'tctl.lock'), 'utf8');
    assert.match(note, /^\d+ \S+\n$/, 'the holder leaves a note naming itself');
    const waiters = [signer(cwd, dataDir, 'w1', waiterNs), signer(cwd, dataDir, 'w2', !waiterNs)];
    const h = await holder.exited;
    const ws = await Promise.all(waiters.map((w) => w.exited));
    assert.equal(h.code, 0, h.stderr);
    assert.equal(h.stdout, 'locked\nuntouched\n', 'nothing was issued while the holder held the lock');
    for (const w of ws) {
      assert.equal(w.code, 0, w.stderr);
      assert.ok(w.at >= h.at - 50, 'the waiter finished only after the holder let go');
    }
    assert.equal(fs.readFileSync(path.join(dataDir, 'issued.jsonl'), 'utf8').trim().split('\n').length, 2);
  });
}

test('temp files of the data dir are cleaned under the lock whatever their pid; a user\'s are left', () => {
  const { run, dataDir } = initialisedCa();
  // pid 1 is alive in every namespace: a pid check would have kept these forever.
  const orphans = [path.join(dataDir, '.serial.tmp-1-0badc0de'), path.join(dataDir, '.state.json.tmp-1-0123abcd'), path.join(dataDir, 'keys', '.user-ca.pem.tmp-1-deadbeef')];
  const users = path.join(dataDir, '.notes.txt.tmp-1-0badc0de');
  for (const f of [...orphans, users]) fs.writeFileSync(f, 'x');
  const r = run(['auth', 'sign', '--user=joe', '--out=joe']);
  assert.equal(r.status, 0, r.stderr);
  for (const f of orphans) assert.ok(!fs.existsSync(f), `${path.basename(f)} removed`);
  assert.ok(fs.existsSync(users), 'a temp file tctl does not own is left alone');
});
