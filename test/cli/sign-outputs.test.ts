// What the logs say happened, happened: an output that cannot be written is found before a
// serial is taken, and a write that fails after signing is audited as an error. The paths are
// ones that fail for root too: /proc, a path under a regular file, a read-only or full tmpfs
// (mounted in a private mount namespace, so nothing outlives the test).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { TCTL, initialisedCa, openssh, tctl } from '../helpers/run.js';

interface Snapshot {
  serial: string;
  issued: string[];
  audit: string[];
}

function snapshot(dataDir: string): Snapshot {
  const lines = (f: string) => (fs.existsSync(path.join(dataDir, f)) ? fs.readFileSync(path.join(dataDir, f), 'utf8').split('\n').filter((l) => l !== '') : []);
  return { serial: fs.readFileSync(path.join(dataDir, 'serial'), 'utf8').trim(), issued: lines('issued.jsonl'), audit: lines('audit.jsonl') };
}

function oneErrorLine(stderr: string, re: RegExp): void {
  const errors = stderr.split('\n').filter((l) => l.startsWith('tctl: error:'));
  assert.equal(errors.length, 1, stderr);
  assert.match(errors[0]!, re);
  assert.doesNotMatch(stderr, /unexpected failure|\n\s+at /);
}

function auditVerifies(cwd: string, dataDir: string): void {
  const v = tctl(['audit', 'verify'], { cwd, env: { TCTL_DATA_DIR: dataDir } });
  assert.equal(v.status, 0, v.stderr);
}

/** Nothing happened: no serial, no issuance line, no audit line. */
function unchanged(before: Snapshot, dataDir: string): void {
  assert.deepEqual(snapshot(dataDir), before);
}

function hostKey(cwd: string, name = 'k'): string {
  const f = path.join(cwd, name);
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f]).status, 0);
  return `${f}.pub`;
}

test('auth sign: outputs that cannot be created fail before a serial is taken', () => {
  const { run, cwd, dataDir } = initialisedCa();
  const pub = hostKey(cwd);
  fs.writeFileSync(path.join(cwd, 'plain'), 'a regular file\n');
  const before = snapshot(dataDir);
  for (const [args, re] of [
    [['--user=joe', '--out=/proc/joe'], /^tctl: error: cannot write \/proc\/joe: /],
    [['--host=a.example.com', `--public-key=${pub}`, '--out=/proc/a'], /^tctl: error: cannot write \/proc\/a-cert\.pub: /],
    [['--user=joe', '--out=plain/joe'], /^tctl: error: cannot write plain\/joe: a path component is not a directory$/],
    [['--host=a.example.com', `--public-key=${pub}`, '--out=plain/a'], /^tctl: error: cannot write plain\/a-cert\.pub: a path component is not a directory$/],
  ] as const) {
    const r = run(['auth', 'sign', ...args]);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    oneErrorLine(r.stderr, re);
    assert.equal(r.stdout, '');
    unchanged(before, dataDir);
  }
  assert.deepEqual(fs.readdirSync(cwd).sort(), ['ca', 'k', 'k.pub', 'plain']);
  auditVerifies(cwd, dataDir);
});

test('auth sign --batch: an --out-dir that cannot be created or written fails before a serial is taken', () => {
  const { run, cwd, dataDir } = initialisedCa();
  const pub = fs.readFileSync(hostKey(cwd), 'utf8').trim();
  fs.writeFileSync(path.join(cwd, 'plain'), 'a regular file\n');
  fs.writeFileSync(path.join(cwd, 'req.jsonl'), `${JSON.stringify({ host: 'a.example.com', public_key: pub })}\n`);
  const before = snapshot(dataDir);
  for (const [dir, re] of [
    ['/proc/certs', /^tctl: error: cannot create directory \/proc\/certs: /],
    ['/proc/self/certs', /^tctl: error: cannot create directory \/proc\/self\/certs: /],
    ['plain', /^tctl: error: cannot use --out-dir plain: it is not a directory$/],
    ['plain/certs', /^tctl: error: cannot use --out-dir plain\/certs: a path component is not a directory$/],
  ] as const) {
    const r = run(['auth', 'sign', '--batch=req.jsonl', `--out-dir=${dir}`]);
    assert.equal(r.status, 1, `${dir}: ${r.stderr}`);
    oneErrorLine(r.stderr, re);
    unchanged(before, dataDir);
  }
  auditVerifies(cwd, dataDir);
});

/** Runs a shell script in a private mount namespace; undefined when this machine cannot (not root, no unshare). */
function inMountNamespace(cwd: string, dataDir: string, script: string) {
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-euc', script], {
    cwd,
    env: { PATH: process.env.PATH, HOME: cwd, NO_COLOR: '1', TCTL_DATA_DIR: dataDir, NODE: process.execPath, TCTL },
    encoding: 'utf8',
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function canMount(t: TestContext, cwd: string): boolean {
  fs.mkdirSync(path.join(cwd, 'probe'));
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'mount', '-t', 'tmpfs', 'tmpfs', path.join(cwd, 'probe')]);
  if (r.error || r.status !== 0) {
    t.skip('needs root and unshare to mount a tmpfs');
    return false;
  }
  return true;
}

// Mounts a small tmpfs at $1 and fills it: a new empty file still fits (an inode), content does not.
const FULL_TMPFS = 'mount -t tmpfs -o size=64k tmpfs "$D"; head -c 1M /dev/zero > "$D/fill" 2>/dev/null || true';
const RO_TMPFS = 'mount -t tmpfs -o ro,size=64k tmpfs "$D"';

test('auth sign on a read-only or full file system: refused before signing, or audited as an error after', (t) => {
  const { cwd, dataDir } = initialisedCa();
  if (!canMount(t, cwd)) return;
  const pub = hostKey(cwd);
  fs.mkdirSync(path.join(cwd, 'out'));
  const sign = (mount: string, args: string) =>
    inMountNamespace(cwd, dataDir, `D=out; ${mount}; rc=0; "$NODE" "$TCTL" auth sign ${args} || rc=$?; ls -A "$D" | sort | tr '\\n' ' '; exit $rc`);

  // Read-only: the reserved temp file cannot be created.
  let before = snapshot(dataDir);
  for (const args of ['--user=joe --out=out/joe', `--host=a.example.com --public-key=${pub} --out=out/a`]) {
    const r = sign(RO_TMPFS, args);
    assert.equal(r.status, 1, r.stderr);
    oneErrorLine(r.stderr, /^tctl: error: cannot write out\/(joe|a-cert\.pub): read-only file system$/);
    assert.equal(r.stdout, '');
    unchanged(before, dataDir);
  }

  // Full, with a generated key: the private key is written into its reserved file before signing.
  const full = sign(FULL_TMPFS, '--user=joe --out=out/joe');
  assert.equal(full.status, 1, full.stderr);
  oneErrorLine(full.stderr, /^tctl: error: cannot write out\/joe: no space left on device$/);
  assert.equal(full.stdout, 'fill ', 'no temp file is left behind');
  unchanged(before, dataDir);
  auditVerifies(cwd, dataDir);

  // Full, signing a given key: only the certificate's content is left to write, after signing.
  // The serial is spent and logged as issued, and the audit line says the signing failed.
  before = snapshot(dataDir);
  const late = sign(FULL_TMPFS, `--host=a.example.com --public-key=${pub} --out=out/a`);
  assert.equal(late.status, 1, late.stderr);
  oneErrorLine(late.stderr, /^tctl: error: cannot write out\/a-cert\.pub: no space left on device$/);
  assert.equal(late.stdout, 'fill ', 'no temp file is left behind');
  const after = snapshot(dataDir);
  const serial = String(Number(before.serial) + 1);
  assert.equal(after.serial, serial);
  assert.equal(after.issued.length, before.issued.length + 1);
  assert.equal((JSON.parse(after.issued.at(-1)!) as { serial: string }).serial, serial);
  assert.equal(after.audit.length, before.audit.length + 1);
  const entry = JSON.parse(after.audit.at(-1)!) as { command: string; result: string; error: string; what: { certificates: Array<{ serial: string; keyId: string }> } };
  assert.equal(entry.command, 'auth sign');
  assert.equal(entry.result, 'error');
  assert.match(entry.error, /cannot write out\/a-cert\.pub: no space left on device/);
  assert.deepEqual(entry.what.certificates.map((c) => [c.serial, c.keyId]), [[serial, 'a.example.com']]);
  auditVerifies(cwd, dataDir);
});

test('auth sign --batch on a read-only or full --out-dir: refused before signing, or audited as an error after', (t) => {
  const { cwd, dataDir } = initialisedCa();
  if (!canMount(t, cwd)) return;
  const pub = fs.readFileSync(hostKey(cwd), 'utf8').trim();
  const n = 30;
  fs.writeFileSync(path.join(cwd, 'req.jsonl'), Array.from({ length: n }, (_, i) => JSON.stringify({ host: `h${i}.example.com`, public_key: pub })).join('\n') + '\n');
  fs.mkdirSync(path.join(cwd, 'out'));
  const batch = (mount: string) =>
    inMountNamespace(cwd, dataDir, `D=out; ${mount}; rc=0; "$NODE" "$TCTL" auth sign --batch=req.jsonl --out-dir="$D" || rc=$?; ls -A "$D" | grep -c . || true; exit $rc`);

  const before = snapshot(dataDir);
  const ro = batch(RO_TMPFS);
  assert.equal(ro.status, 1, ro.stderr);
  oneErrorLine(ro.stderr, /^tctl: error: cannot write to --out-dir out: read-only file system$/);
  unchanged(before, dataDir);

  const full = batch(FULL_TMPFS);
  assert.equal(full.status, 1, full.stderr);
  oneErrorLine(full.stderr, /^tctl: error: cannot write out\/h\d+\.example\.com-cert\.pub: no space left on device$/);
  assert.doesNotMatch(full.stdout, /Signed/);
  assert.equal(full.stdout.trim(), '1', 'only the fill file: no certificate and no temp file');
  const after = snapshot(dataDir);
  assert.equal(after.serial, String(Number(before.serial) + n));
  assert.equal(after.issued.length, before.issued.length + n, 'the issuance log is written before files are handed out');
  assert.equal(after.audit.length, before.audit.length + 1);
  const entry = JSON.parse(after.audit.at(-1)!) as { result: string; error: string; what: { certificates: Array<{ serial: string }> } };
  assert.equal(entry.result, 'error');
  assert.match(entry.error, /no space left on device/);
  assert.deepEqual(
    entry.what.certificates.map((c) => c.serial),
    Array.from({ length: n }, (_, i) => String(Number(before.serial) + 1 + i)),
  );
  auditVerifies(cwd, dataDir);
});
