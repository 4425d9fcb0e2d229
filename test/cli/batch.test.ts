import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initialisedCa, openssh } from '../helpers/run.js';

function keys(cwd: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = path.join(cwd, `k${i}`);
    assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f]).status, 0);
    out.push(fs.readFileSync(`${f}.pub`, 'utf8').trim());
  }
  return out;
}
/** The permit-* extensions ssh-keygen -L lists. */
const permits = (listing: string) => [...listing.matchAll(/^\s+(permit-\S+)$/gm)].map((m) => m[1]);
const jsonl = (rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';
const issuedCount = (dataDir: string) =>
  fs.existsSync(path.join(dataDir, 'issued.jsonl')) ? fs.readFileSync(path.join(dataDir, 'issued.jsonl'), 'utf8').trim().split('\n').length : 0;

test('batch: host and user requests from a file and from stdin; one log entry per cert', () => {
  const { run, cwd, dataDir } = initialisedCa();
  const [a, b, c] = keys(cwd, 3);
  fs.writeFileSync(
    path.join(cwd, 'req.jsonl'),
    jsonl([
      { host: 'a.example.com,10.0.0.5', public_key: a },
      '',
      { user: 'joe', principals: ['joe', 'ubuntu'], ttl: '8h', public_key: b },
      { user: 'ci', principals: 'deploy', public_key: c, out: 'ci-deploy', force_command: 'uptime', source_address: ['10.0.0.0/8'] },
    ]),
  );
  const r = run(['auth', 'sign', '--batch=req.jsonl', '--out-dir=certs']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Signed 3 certificates into certs in [\d.]+s \(serials 1-3\)\n$/);
  // No progress bar off a terminal; only the note that the force_command line lost its forwarding.
  assert.match(r.stderr, /^tctl: note: 1 force_command request without "permit" got no agent-forwarding, port-forwarding, user-rc, x11-forwarding .*\n$/);
  assert.deepEqual(fs.readdirSync(path.join(cwd, 'certs')).sort(), ['a.example.com-cert.pub', 'ci-deploy-cert.pub', 'joe-cert.pub']);
  const host = openssh('ssh-keygen', ['-L', '-f', path.join(cwd, 'certs', 'a.example.com-cert.pub')]).stdout;
  assert.match(host, /host certificate[\s\S]*Principals: \n\s+a\.example\.com\n\s+10\.0\.0\.5\n[\s\S]*x-teleport-role/);
  const joe = openssh('ssh-keygen', ['-L', '-f', path.join(cwd, 'certs', 'joe-cert.pub')]).stdout;
  assert.match(joe, /user certificate[\s\S]*Principals: \n\s+joe\n\s+ubuntu\n/);
  const [, from, to] = /Valid: from (\S+) to (\S+)/.exec(joe)!;
  assert.equal((Date.parse(to!) - Date.parse(from!)) / 1000, 8 * 3600 + 60);
  const ci = openssh('ssh-keygen', ['-L', '-f', path.join(cwd, 'certs', 'ci-deploy-cert.pub')]).stdout;
  assert.match(ci, /force-command uptime\n\s+source-address 10\.0\.0\.0\/8/);
  assert.deepEqual(permits(ci), ['permit-pty']);
  assert.deepEqual(permits(joe), ['permit-X11-forwarding', 'permit-agent-forwarding', 'permit-port-forwarding', 'permit-pty', 'permit-user-rc']);
  assert.equal(issuedCount(dataDir), 3);

  const fromStdin = run(['auth', 'sign', '--batch=-', '--out-dir=more'], { input: jsonl([{ host: 'b.example.com', public_key: a }]) });
  assert.equal(fromStdin.status, 0, fromStdin.stderr);
  assert.match(fromStdin.stdout, /Signed 1 certificate into more .*\(serials 4-4\)/);
  assert.equal(issuedCount(dataDir), 4);
});

test('batch: a bad line fails the batch before anything is signed, naming its line', () => {
  const { run, cwd, dataDir } = initialisedCa();
  const [a] = keys(cwd, 1);
  fs.writeFileSync(path.join(cwd, 'a.example.com-cert.pub'), 'x');
  fs.writeFileSync(
    path.join(cwd, 'req.jsonl'),
    jsonl([
      { host: 'ok.example.com', public_key: a },
      { host: '*.example.com', public_key: a },
      'not json',
      { user: 'joe' },
      { user: 'joe', public_key: 'ssh-dss AAAAB3NzaC1kc3MAAACBAP8= x' },
      { host: 'h.example.com', user: 'joe', public_key: a },
      { host: 'ok.example.com', public_key: a },
      { user: 'x', public_key: a, color: 'red' },
      { user: 'y', public_key: a, ttl: '8' },
    ]),
  );
  const serial = fs.readFileSync(path.join(dataDir, 'serial'), 'utf8');
  const r = run(['auth', 'sign', '--batch=req.jsonl', '--out-dir=certs']);
  assert.equal(r.status, 1);
  for (const [line, re] of [
    [2, /wildcards are not allowed/],
    [3, /not valid JSON/],
    [4, /"public_key" is required/],
    [5, /found a DSA key/],
    [6, /exactly one of "host" or "user"/],
    [7, /also written by line 1/],
    [8, /unknown field "color"/],
    [9, /invalid "ttl" "8"/],
  ] as const) {
    assert.match(r.stderr, new RegExp(`tctl: error: req\\.jsonl:${line}: .*${re.source}`), `line ${line}`);
  }
  assert.match(r.stderr, /8 bad lines in the batch; nothing was signed/);
  assert.match(r.stderr, /tctl: hint: .*--keep-going/);
  assert.ok(!fs.existsSync(path.join(cwd, 'certs')), 'a refused batch creates no --out-dir');
  assert.equal(fs.readFileSync(path.join(dataDir, 'serial'), 'utf8'), serial);
  assert.equal(issuedCount(dataDir), 0);

  const kg = run(['auth', 'sign', '--batch=req.jsonl', '--out-dir=certs', '--keep-going']);
  assert.equal(kg.status, 1);
  assert.match(kg.stdout, /Signed 1 certificate into certs/);
  assert.match(kg.stderr, /8 bad lines were skipped \(--keep-going\)/);
  assert.deepEqual(fs.readdirSync(path.join(cwd, 'certs')), ['ok.example.com-cert.pub']);
  assert.equal(issuedCount(dataDir), 1);

  // Existing outputs are refused per line without --overwrite.
  fs.writeFileSync(path.join(cwd, 'one.jsonl'), jsonl([{ host: 'ok.example.com', public_key: a }]));
  const again = run(['auth', 'sign', '--batch=one.jsonl', '--out-dir=certs']);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /one\.jsonl:1: .*ok\.example\.com-cert\.pub exists \(use --overwrite/);
  assert.equal(run(['auth', 'sign', '--batch=one.jsonl', '--out-dir=certs', '--overwrite']).status, 0);
});

test('batch: flag conflicts and empty input are usage errors', () => {
  const { run, cwd } = initialisedCa();
  fs.writeFileSync(path.join(cwd, 'empty.jsonl'), '\n\n');
  for (const [args, code, re] of [
    [['--batch=empty.jsonl'], 2, /--batch needs --out-dir/],
    [['--batch=empty.jsonl', '--out-dir=o', '--host=a.example.com'], 2, /--host cannot be used with --batch/],
    [['--batch=empty.jsonl', '--out-dir=o', '--public-key=x'], 2, /--public-key cannot be used with --batch/],
    [['--out-dir=o'], 2, /need --batch/],
    [['--batch=empty.jsonl', '--out-dir=o', '--format=tls'], 2, /--batch does not apply to --format=tls/],
    [['--batch=empty.jsonl', '--out-dir=o', '--format=pkcs12'], 2, /invalid --format flag "pkcs12"/],
    [['--batch=empty.jsonl', '--out-dir=o'], 1, /the batch has no requests/],
    [['--batch=missing.jsonl', '--out-dir=o'], 1, /cannot read missing\.jsonl: no such file/],
  ] as const) {
    const r = run(['auth', 'sign', ...args]);
    assert.equal(r.status, code, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
  }
});
