// Large batches are signed on worker threads when the machine has cores to spare, small ones and
// any batch on one core on the main thread. Users must see the same thing either way: serials in
// line order, one log record per certificate written before its file, the same JSON and audit.
// A copy of the install whose signing-thread bundle is wrapped shows that the threads signed (or
// did not), and makes one fail on purpose.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { parseCertificateText } from '../../src/formats/certificate-file.js';
import { fingerprint } from '../../src/ssh/keys.js';
import { REPO_ROOT, openssh, tctl, tempDir } from '../helpers/run.js';
import { SOFTHSM_MODULE, softHsmToken } from '../helpers/softhsm.js';

const LINES = 2600; // above the size from which threads sign
const BAD_LINES = new Set([7, 1999, 2401]);
const multiCore = os.availableParallelism() > 1 ? false : 'one core: batches never use threads here';
const taskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0 ? false : 'taskset is not available';

/**
 * bin/tctl and dist/bundle copied, with the signing-thread bundle wrapped: each thread notes
 * "started" and, at its first signature, "signed" in SIGNER_MARKER; with SIGNER_FAIL_AFTER=n its
 * n+1th signature throws (SIGNER_FAIL=throw) or ends the thread (SIGNER_FAIL=exit).
 */
let installed: string | undefined;
function wrappedInstall(): string {
  if (installed) return installed;
  const dir = tempDir('tctl-install-');
  fs.mkdirSync(path.join(dir, 'bin'));
  for (const f of ['tctl', 'package.json']) fs.copyFileSync(path.join(REPO_ROOT, 'bin', f), path.join(dir, 'bin', f));
  fs.cpSync(path.join(REPO_ROOT, 'dist', 'bundle'), path.join(dir, 'dist', 'bundle'), { recursive: true });
  fs.copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'package.json'));
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const bundle = path.join(dir, 'dist', 'bundle');
  fs.renameSync(path.join(bundle, 'ca-batch-threads.cjs'), path.join(bundle, 'ca-batch-threads-real.cjs'));
  fs.writeFileSync(
    path.join(bundle, 'ca-batch-threads.cjs'),
    `'use strict';
const fs = require('node:fs');
const crypto = require('node:crypto');
const marker = process.env.SIGNER_MARKER;
if (marker) fs.appendFileSync(marker, 'started\\n');
const failAfter = Number(process.env.SIGNER_FAIL_AFTER ?? Infinity);
const sign = crypto.sign;
let n = 0;
crypto.sign = function (...args) {
  if (n++ === 0 && marker) fs.appendFileSync(marker, 'signed\\n');
  if (n > failAfter) {
    if (process.env.SIGNER_FAIL === 'exit') process.exit(3);
    throw new Error('injected failure');
  }
  return sign.apply(this, args);
};
require('./ca-batch-threads-real.cjs');
`,
  );
  installed = path.join(dir, 'bin', 'tctl');
  return installed;
}

function keys(cwd: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const f = path.join(cwd, `k${i}`);
    assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f]).status, 0);
    return fs.readFileSync(`${f}.pub`, 'utf8').trim();
  });
}

/** Host and user requests, blank lines and a few bad lines (skipped with --keep-going). */
function requests(pubs: string[]): { text: string; good: number } {
  const lines: string[] = [];
  let good = 0;
  for (let i = 1; i <= LINES; i++) {
    const key = pubs[i % pubs.length]!;
    if (BAD_LINES.has(i)) lines.push(JSON.stringify({ host: `bad${i}..example.com`, public_key: key }));
    else if (i % 97 === 0) lines.push('');
    else if (i % 3 === 0) lines.push(JSON.stringify({ user: `u${i}`, principals: [`u${i}`, 'deploy'], ttl: '8h', public_key: key })), good++;
    else lines.push(JSON.stringify({ host: `h${i}.example.com,10.0.${i >> 8}.${i & 255}`, public_key: key })), good++;
  }
  return { text: lines.join('\n') + '\n', good };
}

interface Run {
  status: number;
  stdout: string;
  stderr: string;
  marker: string[];
  cwd: string;
  dataDir: string;
}

/** A data dir made once, copied for each run, so runs start from the same keys and serial counter. */
function caTemplate(initArgs: string[] = [], env: Record<string, string> = {}) {
  const base = tempDir();
  const init = tctl(['auth', 'init', '--cluster-name=example.com', ...initArgs], { cwd: base, env: { TCTL_DATA_DIR: path.join(base, 'ca'), ...env } });
  assert.equal(init.status, 0, init.stderr);
  const { text, good } = requests(keys(base, 4));
  fs.writeFileSync(path.join(base, 'req.jsonl'), text);
  const run = (bin: string, opts: { cpus?: string; env?: Record<string, string>; args?: string[] } = {}): Run => {
    const cwd = tempDir();
    fs.cpSync(path.join(base, 'ca'), path.join(cwd, 'ca'), { recursive: true });
    fs.copyFileSync(path.join(base, 'req.jsonl'), path.join(cwd, 'req.jsonl'));
    const marker = path.join(cwd, 'marker');
    const argv = [process.execPath, bin, 'auth', 'sign', '--batch=req.jsonl', '--out-dir=certs', '--keep-going', ...(opts.args ?? [])];
    const full = opts.cpus === undefined ? argv : ['taskset', '-c', opts.cpus, ...argv];
    const r = spawnSync(full[0]!, full.slice(1), {
      cwd,
      env: { PATH: process.env.PATH, HOME: cwd, NO_COLOR: '1', TCTL_DATA_DIR: path.join(cwd, 'ca'), SIGNER_MARKER: marker, ...env, ...opts.env },
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    const marks = fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').trim().split('\n') : [];
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, marker: marks, cwd, dataDir: path.join(cwd, 'ca') };
  };
  return { good, run };
}

type LogRecord = { serial: string; keyId: string; type: 'user' | 'host'; principals: string[]; validAfter: string; validBefore: string; caFingerprint: string; publicKeyFingerprint: string; issuedAt: string };
const readLog = (dataDir: string): LogRecord[] =>
  fs.existsSync(path.join(dataDir, 'issued.jsonl')) ? fs.readFileSync(path.join(dataDir, 'issued.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogRecord) : [];
const lastAudit = (dataDir: string) => {
  const lines = fs.readFileSync(path.join(dataDir, 'audit.jsonl'), 'utf8').trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as { command: string; result: string; what: unknown; error?: string };
};
/** A time as seconds after the whole second of the record's issuedAt: runs at different moments compare equal. */
const rel = (t: string, issuedAt: string) => (t === 'forever' ? t : (Date.parse(t) - Math.floor(Date.parse(issuedAt) / 1000) * 1000) / 1000);

/** What a run leaves that must not depend on threads: log, files and certificates, audit, output. */
function outcome(r: Run) {
  const log = readLog(r.dataDir);
  const files = fs.readdirSync(path.join(r.cwd, 'certs')).sort();
  const certs = log.map((rec) => {
    const file = `${rec.keyId}-cert.pub`;
    const c = parseCertificateText(fs.readFileSync(path.join(r.cwd, 'certs', file), 'utf8'));
    const validAfter = new Date(Number(c.validAfter) * 1000).toISOString();
    return {
      serial: c.serial.toString(), type: c.type, keyId: c.keyId, principals: c.principals, key: fingerprint(c.key.blob), ca: fingerprint(c.signatureKey),
      criticalOptions: c.criticalOptions, extensions: c.extensions, validFor: rel(c.validBefore === 0xffffffffffffffffn ? 'forever' : new Date(Number(c.validBefore) * 1000).toISOString(), validAfter),
    };
  });
  return {
    status: r.status,
    stdout: r.stdout.replace(/ in [\d.]+s /, ' in Ts '),
    stderr: r.stderr,
    files,
    log: log.map((rec) => ({ ...rec, validAfter: rel(rec.validAfter, rec.issuedAt), validBefore: rel(rec.validBefore, rec.issuedAt), issuedAt: 'T' })),
    certs,
    audit: (({ command, result, what }) => ({ command, result, what }))(lastAudit(r.dataDir)),
  };
}

describe('batch signing on threads', () => {
  test('threads and one core (taskset) give the same serials, log, certificates, audit and output', { skip: multiCore || taskset }, () => {
    const bin = wrappedInstall();
    const { good, run } = caTemplate();
    const threaded = run(bin);
    const oneCore = run(bin, { cpus: '0' });
    assert.ok(threaded.marker.includes('signed'), `the signing threads signed: ${threaded.marker.join(',')}`);
    assert.deepEqual(oneCore.marker, [], 'on one core no thread starts');
    const a = outcome(threaded);
    const b = outcome(oneCore);
    assert.equal(a.status, 1, threaded.stderr);
    assert.match(a.stdout, new RegExp(`^Signed ${good} certificates into certs in Ts \\(serials 1-${good}\\)\\n$`));
    assert.match(a.stderr, /tctl: error: 3 bad lines were skipped \(--keep-going\)\n$/);
    assert.equal(a.log.length, good);
    assert.deepEqual(a.log.map((r) => r.serial), Array.from({ length: good }, (_, i) => String(i + 1)));
    assert.deepEqual(a.certs.map((c) => c.serial), a.log.map((r) => r.serial));
    assert.deepEqual(a.certs.map((c) => [c.keyId, c.principals, c.key, c.ca]), a.log.map((r) => [r.keyId, r.principals, r.publicKeyFingerprint, r.caFingerprint]));
    assert.deepEqual(a.audit, { command: 'auth sign', result: 'ok', what: { count: good, firstSerial: '1', lastSerial: String(good) } });
    assert.deepEqual(a, b);
    // OpenSSH reads them, and they verify against the CA.
    for (const file of [a.files[0]!, a.files[a.files.length - 1]!]) {
      const shown = openssh('ssh-keygen', ['-L', '-f', path.join(threaded.cwd, 'certs', file)]);
      assert.equal(shown.status, 0, shown.stderr);
    }
  });

  test('--json: the same document from threads and from one core', { skip: multiCore || taskset }, () => {
    const bin = wrappedInstall();
    const { good, run } = caTemplate();
    const norm = (r: Run) => {
      assert.equal(r.status, 1, r.stderr);
      const doc = JSON.parse(r.stdout) as { certificates: Array<Record<string, unknown>>; count: number };
      assert.equal(doc.count, good);
      return { ...doc, certificates: doc.certificates.map((c) => ({ ...c, validAfter: 'T', validBefore: c.validBefore === 'forever' ? 'forever' : 'T' })) };
    };
    const threaded = run(bin, { args: ['--json'] });
    assert.ok(threaded.marker.includes('signed'));
    assert.deepEqual(norm(threaded), norm(run(bin, { cpus: '0', args: ['--json'] })));
  });

  for (const how of ['throw', 'exit'] as const) {
    // On two cores one thread signs chunks 0 and 2 (1000 lines each) and the main thread chunk
    // 1: the thread fails in chunk 2, after chunks 0 and 1 are logged and written.
    test(`a signing thread that fails (${how}) stops the batch with one error; everything logged is written, nothing else`, { skip: multiCore || taskset }, () => {
      const bin = wrappedInstall();
      const { run } = caTemplate();
      const r = run(bin, { cpus: '0,1', env: { SIGNER_FAIL_AFTER: '1300', SIGNER_FAIL: how } });
      assert.equal(r.status, 1);
      const log = readLog(r.dataDir);
      const n = log.length;
      assert.equal(n, 2000, 'two whole chunks before the failure');
      const reason = how === 'throw' ? 'injected failure' : 'it stopped';
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('tctl: error:') && !l.includes('req.jsonl:'));
      assert.deepEqual(errors, [`tctl: error: a signing thread failed (${reason}); ${n} certificates were signed, logged and written before it`]);
      assert.match(r.stderr, new RegExp(`tctl: hint: serials 1-${n} are in "tctl auth ls"; sign the rest of the batch again\\n$`));
      // Exactly the logged certificates are on disk, whole, and nothing else (no temp file).
      const files = fs.readdirSync(path.join(r.cwd, 'certs')).sort();
      assert.deepEqual(files, log.map((rec) => `${rec.keyId}-cert.pub`).sort());
      for (const rec of log) {
        const c = parseCertificateText(fs.readFileSync(path.join(r.cwd, 'certs', `${rec.keyId}-cert.pub`), 'utf8'));
        assert.equal(c.serial.toString(), rec.serial);
      }
      const audit = lastAudit(r.dataDir);
      assert.deepEqual([audit.command, audit.result, audit.what], ['auth sign', 'error', { count: n, firstSerial: '1', lastSerial: String(n) }]);
      assert.match(audit.error ?? '', /^a signing thread failed/);
      const verify = tctl(['audit', 'verify'], { cwd: r.cwd, env: { TCTL_DATA_DIR: r.dataDir } });
      assert.equal(verify.status, 0, verify.stderr);
    });
  }

  test('without the thread file (a damaged install) a large batch is checked and signed on the main thread', { skip: multiCore }, () => {
    const bin = wrappedInstall();
    const broken = path.join(tempDir('tctl-install-'), 'tctl');
    fs.cpSync(path.dirname(path.dirname(bin)), broken, { recursive: true, verbatimSymlinks: true });
    fs.rmSync(path.join(broken, 'dist', 'bundle', 'ca-batch-threads.cjs'));
    const { good, run } = caTemplate();
    const started = Date.now();
    const r = run(path.join(broken, 'bin', 'tctl'));
    assert.equal(r.status, 1, r.stderr);
    assert.ok(Date.now() - started < 30_000, 'no wait for threads that cannot start');
    assert.deepEqual(r.marker, []);
    assert.equal(readLog(r.dataDir).length, good);
    assert.equal(fs.readdirSync(path.join(r.cwd, 'certs')).length, good);
  });

  test('passphrase-protected CA keys: the threads sign with the key the session opened', { skip: multiCore }, () => {
    const bin = wrappedInstall();
    const secret = path.join(tempDir(), 'pass');
    fs.writeFileSync(secret, 'correct horse battery staple\n', { mode: 0o600 });
    const { good, run } = caTemplate(['--protect'], { TCTL_CA_PASSPHRASE_FILE: secret });
    const r = run(bin, { env: { TCTL_CA_PASSPHRASE_FILE: secret } });
    assert.equal(r.status, 1, r.stderr);
    assert.ok(r.marker.includes('signed'));
    assert.equal(readLog(r.dataDir).length, good);
    assert.equal(fs.readdirSync(path.join(r.cwd, 'certs')).length, good);
  });

  test('CA keys in a PKCS#11 token: the batch is signed on the main thread, whatever its size', { skip: multiCore || (SOFTHSM_MODULE ? false : 'softhsm2 is not installed') }, () => {
    const bin = wrappedInstall();
    const hsm = softHsmToken();
    const env = { SOFTHSM2_CONF: path.join(hsm.dir, 'softhsm2.conf'), TCTL_PKCS11_MODULE: hsm.modulePath, TCTL_PKCS11_TOKEN_LABEL: hsm.label, TCTL_PKCS11_PIN_FILE: hsm.pinFile };
    const { good, run } = caTemplate([], env);
    const r = run(bin, { env });
    assert.equal(r.status, 1, r.stderr);
    assert.ok(!r.marker.includes('signed'), `no thread signed: ${r.marker.join(',')}`);
    const log = readLog(r.dataDir);
    assert.equal(log.length, good);
    const state = JSON.parse(fs.readFileSync(path.join(r.dataDir, 'state.json'), 'utf8')) as { authorities: Record<'user' | 'host', { current: { fingerprint: string; pkcs11?: unknown } }> };
    assert.ok(state.authorities.host.current.pkcs11, 'the CA keys are in the token');
    for (const rec of [log[0]!, log[log.length - 1]!]) {
      const c = parseCertificateText(fs.readFileSync(path.join(r.cwd, 'certs', `${rec.keyId}-cert.pub`), 'utf8'));
      assert.equal(fingerprint(c.signatureKey), state.authorities[c.type].current.fingerprint);
      assert.equal(openssh('ssh-keygen', ['-L', '-f', path.join(r.cwd, 'certs', `${rec.keyId}-cert.pub`)]).status, 0);
    }
  });
});
