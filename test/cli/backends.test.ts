// The data dir and PostgreSQL are two homes for one CA: the same script of commands gives the
// same exit codes and, once keys, fingerprints, random X.509 serials, times and the store's own
// name are set aside, the same stdout and stderr. Also which store a command picks (flag, then
// environment, then teleport.yaml) and that the PostgreSQL password is never shown.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Normaliser, sortKrlSections } from '../helpers/normalise.js';
import type { Postgres } from '../helpers/postgres.js';
import { postgresSkip, startPostgres } from '../helpers/postgres.js';
import { tctl, tempDir } from '../helpers/run.js';
import type { Exit } from '../helpers/spawn.js';
import { runAsync, tctlAsync } from '../helpers/spawn.js';
import { freshDatabase } from '../helpers/stores.js';

const dbOf = (url: string) => /\/(tctl_\d+_\d+)\?/.exec(url)![1]!;

interface Step {
  /** exit code on both backends */
  expect: number;
  tctl?: string[];
  /** another program run in the same directory (ssh-keygen, openssl) */
  tool?: [string, string[]];
  /** output that legitimately differs in order between runs */
  post?: (stdout: string) => string;
}

const keygen = (file: string): Step => ({ expect: 0, tool: ['ssh-keygen', ['-L', '-f', file]] });
const x509 = (file: string): Step => ({ expect: 0, tool: ['openssl', ['x509', '-in', file, '-noout', '-subject', '-issuer', '-ext', 'subjectAltName,extendedKeyUsage']] });
const krl = (file: string): Step[] => [
  { expect: 0, tctl: ['auth', 'export', '--type=krl', '-o', file] },
  { expect: 0, tool: ['ssh-keygen', ['-Q', '-l', '-f', file]], post: sortKrlSections },
];
const rotate = (phase: string, ...more: string[]): Step => ({ expect: 0, tctl: ['auth', 'rotate', '--type=user', '--manual', `--phase=${phase}`, ...more] });

/** Every command of the CA, in an order where each one has something to work on. */
const SCRIPT: Step[] = [
  { expect: 0, tctl: ['auth', 'init', '--cluster-name=example.com'] },
  { expect: 0, tctl: ['status'] },
  { expect: 0, tctl: ['auth', 'export', '--type=user'] },
  { expect: 0, tctl: ['auth', 'export', '--type=host'] },
  { expect: 0, tctl: ['auth', 'export', '--type=tls'] },
  { expect: 0, tctl: ['auth', 'export', '--type=db-client'] },
  ...krl('empty.krl'),
  { expect: 0, tctl: ['auth', 'sign', '--user=alice', '--principals=alice,ops', '--out=alice'] },
  keygen('alice-cert.pub'),
  { expect: 0, tctl: ['auth', 'sign', '--host=web1.example.com,10.0.0.5', '--out=web1'] },
  keygen('web1-cert.pub'),
  { expect: 0, tctl: ['auth', 'sign', '--format=tls', '--host=api.example.com', '--out=api'] },
  x509('api.crt'),
  { expect: 0, tctl: ['auth', 'sign', '--format=db', '--user=bob', '--out=bob', '--json'] },
  x509('bob.crt'),
  { expect: 0, tctl: ['auth', 'sign', '--batch=batch.jsonl', '--out-dir=certs'] },
  keygen('certs/dan-cert.pub'),
  { expect: 1, tctl: ['auth', 'sign', '--batch=bad.jsonl', '--out-dir=certs', '--keep-going', '--json'] },
  { expect: 2, tctl: ['auth', 'sign', '--user=x', '--ttl=99999h'] },
  rotate('init'),
  { expect: 0, tctl: ['auth', 'export', '--type=user'] },
  { expect: 0, tctl: ['status', '--json'] },
  rotate('update_clients'),
  { expect: 0, tctl: ['auth', 'sign', '--user=frank', '--public-key=k1.pub'] },
  keygen('k1-cert.pub'),
  rotate('update_servers'),
  rotate('standby', '--yes'),
  { expect: 0, tctl: ['status'] },
  { expect: 0, tctl: ['auth', 'revoke', '--serial=2', '--reason=disk lost'] },
  { expect: 0, tctl: ['auth', 'revoke', '--key-id=carol', '--json'] },
  { expect: 1, tctl: ['auth', 'sign', '--user=carol', '--public-key=k2.pub', '--overwrite'] },
  { expect: 1, tctl: ['auth', 'revoke', '--serial=999'] },
  { expect: 0, tctl: ['auth', 'ls'], post: (s) => s.replace(/ {2,}/g, '  ') }, // column widths follow the X.509 serials' lengths
  { expect: 0, tctl: ['auth', 'ls', '--json'] },
  { expect: 0, tctl: ['auth', 'ls', '--revoked', '--type=host'] },
  { expect: 1, tctl: ['auth', 'inspect', 'alice-cert.pub'] },
  { expect: 0, tctl: ['auth', 'inspect', '--json', 'k1-cert.pub'] },
  { expect: 0, tctl: ['auth', 'inspect', 'api.crt'] },
  ...krl('revoked.krl'),
  { expect: 0, tctl: ['auth', 'crl', '--type=db-client', '--format=pem'] },
  { expect: 0, tctl: ['status', '--json'] },
  { expect: 0, tctl: ['audit', 'verify'] },
  { expect: 0, tctl: ['auth', 'protect', '--passphrase-file=pass'] },
  { expect: 2, tctl: ['auth', 'sign', '--user=gina', '--out=gina'] },
  { expect: 1, tctl: ['auth', 'sign', '--user=gina', '--out=gina', '--passphrase-file=wrong-pass'] },
  { expect: 0, tctl: ['auth', 'sign', '--user=gina', '--out=gina', '--passphrase-file=pass'] },
  { expect: 0, tctl: ['status', '--passphrase-file=pass'] },
  { expect: 0, tctl: ['auth', 'unprotect', '--passphrase-file=pass'] },
  { expect: 0, tctl: ['auth', 'sign', '--host=web2.example.com', '--public-key=k3.pub', '--out=web2'] },
  { expect: 0, tctl: ['audit', 'verify', '--json'] },
];

interface Place {
  kind: 'dir' | 'postgresql';
  cwd: string;
  env: Record<string, string>;
  /** exact strings naming this place, and what they read as once normalised */
  names: Array<[string, string]>;
  /** what status --json says about the store */
  storage: object;
}

function dataDirPlace(): Place {
  const cwd = tempDir();
  const dataDir = path.join(cwd, 'ca');
  return {
    kind: 'dir', cwd, env: { TCTL_DATA_DIR: dataDir },
    // A file of the data dir is named by its path; a key in the database as "NAME in PostgreSQL URL" (postgresPlace).
    names: [[`Data dir  ${dataDir}`, 'Store     <store>'], [`data dir ${dataDir}`, '<store>'], [`${dataDir}/`, '<in-store>'], [cwd, '<cwd>']],
    storage: { dataDir },
  };
}

function postgresPlace(url: string): Place {
  const cwd = tempDir();
  const shown = decodeURIComponent(url); // the helper's URLs have no password; tctl shows the socket dir decoded
  return {
    kind: 'postgresql', cwd, env: { TCTL_BACKEND: url },
    names: [[`Backend   PostgreSQL ${shown}`, 'Store     <store>'], [`PostgreSQL ${shown}`, '<store>'], [cwd, '<cwd>']],
    storage: { backend: { type: 'postgresql', url: shown } },
  };
}

/** Keys and request files the script uses, made afresh in each place. */
async function prepare(cwd: string): Promise<void> {
  const keys = await Promise.all(['k1', 'k2', 'k3'].map(async (k) => {
    const r = await runAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', k, '-f', k], { cwd });
    assert.equal(r.status, 0, r.stderr);
    return fs.readFileSync(path.join(cwd, `${k}.pub`), 'utf8').trim();
  }));
  const lines = (reqs: object[]) => reqs.map((r) => JSON.stringify(r)).join('\n') + '\n';
  fs.writeFileSync(path.join(cwd, 'batch.jsonl'), lines([
    { user: 'carol', public_key: keys[0] },
    { host: 'h1.example.com', public_key: keys[1] },
    { user: 'dan', principals: ['dan', 'deploy'], ttl: '1h', public_key: keys[2], out: 'dan' },
    { host: 'h2.example.com,10.1.2.3', public_key: keys[1], out: 'h2' },
  ]));
  fs.writeFileSync(path.join(cwd, 'bad.jsonl'), lines([{ user: 'erin', public_key: keys[0] }, { host: '*.example.com', public_key: keys[0] }]));
  fs.writeFileSync(path.join(cwd, 'pass'), 'correct horse battery staple\n');
  fs.writeFileSync(path.join(cwd, 'wrong-pass'), 'incorrect horse\n');
}

interface Transcript {
  what: string;
  status: number;
  stdout: string;
  stderr: string;
}

async function runScript(place: Place): Promise<Transcript[]> {
  await prepare(place.cwd);
  const n = new Normaliser(place.names);
  const text = (s: string) => n.text(s).replace(/(<keyfile\d+>) in <store>/g, '<in-store>$1');
  const out: Transcript[] = [];
  for (const step of SCRIPT) {
    const what = step.tctl ? `tctl ${step.tctl.join(' ')}` : [step.tool![0], ...step.tool![1]].join(' ');
    const r: Exit = step.tctl
      ? await tctlAsync(step.tctl, { cwd: place.cwd, env: place.env })
      : await runAsync(step.tool![0], step.tool![1], { cwd: place.cwd });
    assert.equal(r.status, step.expect, `${place.kind}: ${what}: exit ${r.status}\n${r.stderr}`);
    let stdout = r.stdout;
    if (step.tctl?.[0] === 'status' && step.tctl.includes('--json')) {
      const doc = JSON.parse(stdout);
      const storage = Object.fromEntries(Object.entries(doc).filter(([k]) => k === 'dataDir' || k === 'backend'));
      assert.deepEqual(storage, place.storage, `${place.kind}: ${what}`);
      stdout = JSON.stringify({ ...doc, dataDir: undefined, backend: undefined }, null, 2);
    }
    stdout = text(stdout);
    out.push({ what, status: r.status, stdout: step.post ? step.post(stdout) : stdout, stderr: text(r.stderr) });
  }
  return out;
}

describe('the data dir and PostgreSQL backends', { skip: postgresSkip() }, () => {
  let pg: Postgres;
  const password = 'Tr0ub4dor&3 s3cret/pw';
  before(async () => {
    pg = await startPostgres({ hba: 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n' });
    pg.sql(`CREATE ROLE tctl LOGIN PASSWORD '${password}'`);
    pg.sql('CREATE DATABASE tctl_pw OWNER tctl');
  });
  after(async () => {
    await pg?.stop();
  });

  test('one script of every command: same exit codes and the same stdout and stderr on both', async () => {
    const places = [dataDirPlace(), postgresPlace(freshDatabase(pg))];
    const [dir, db] = await Promise.all(places.map(runScript));
    for (let i = 0; i < SCRIPT.length; i++) {
      const a = dir![i]!;
      const b = db![i]!;
      assert.equal(b.status, a.status, `${a.what}: exit code`);
      assert.equal(b.stdout, a.stdout, `${a.what}: stdout`);
      assert.equal(b.stderr, a.stderr, `${a.what}: stderr`);
    }
    // The comparison compared something: each run signed, rotated, revoked and audited.
    const last = dir!.at(-1)!;
    assert.match(last.stdout, /"intact": true/);
    assert.match(dir!.find((t) => t.what === 'tctl auth ls')!.stdout, /^2  host  web1\.example\.com  web1\.example\.com,10\.0\.0\.5  forever  revoked\n[\s\S]*^3  user  carol  carol  <time>  revoked$/m);
    assert.match(dir!.find((t) => t.what.startsWith('ssh-keygen -Q -l -f revoked.krl'))!.stdout, /# CA key ssh-ed25519 <fp1>\nid: carol\n[\s\S]*# CA key ssh-ed25519 <fp2>\nserial: 2$/);
    // The PostgreSQL run kept everything in the database: no command fell back to a data dir
    // (TCTL_DATA_DIR is unset there, so that would be the default one under its HOME).
    assert.ok(fs.existsSync(path.join(places[0]!.cwd, 'ca', 'state.json')));
    const strays = fs.readdirSync(places[1]!.cwd).filter((f) => f === 'ca' || f.startsWith('.'));
    assert.deepEqual(strays, [], 'no data dir beside the PostgreSQL run');
  });

  test('flag beats environment beats teleport.yaml, with --backend before or after the subcommand', async () => {
    const cwd = tempDir();
    const urls = { flag: freshDatabase(pg), env: freshDatabase(pg), config: freshDatabase(pg) };
    const dataDir = path.join(cwd, 'ca');
    const inits = [
      ...Object.entries(urls).map(([name, url]) => tctlAsync(['auth', 'init', `--cluster-name=${name}.example.com`, `--backend=${url}`], { cwd })),
      tctlAsync(['auth', 'init', '--cluster-name=dir.example.com', `--data-dir=${dataDir}`], { cwd }),
    ];
    for (const r of await Promise.all(inits)) assert.equal(r.status, 0, r.stderr);
    fs.writeFileSync(path.join(cwd, 'teleport.yaml'), `teleport:\n  storage:\n    type: postgresql\n    conn_string: "${urls.config}"\n`);
    const cases: Array<[string[], Record<string, string>, string]> = [
      [['--config=teleport.yaml', 'status', '--json'], {}, 'config'],
      [['--config=teleport.yaml', 'status', '--json'], { TCTL_BACKEND: urls.env }, 'env'],
      [['--config=teleport.yaml', 'status', '--json'], { TCTL_DATA_DIR: dataDir }, 'dir'],
      [[`--backend=${urls.flag}`, '--config=teleport.yaml', 'status', '--json'], { TCTL_BACKEND: urls.env }, 'flag'],
      [['status', '--json', '--config=teleport.yaml', `--backend=${urls.flag}`], { TCTL_BACKEND: urls.env }, 'flag'],
      [['status', '--json', '--backend', urls.flag], { TCTL_DATA_DIR: dataDir }, 'flag'],
      [['status', '--json', `--data-dir=${dataDir}`], { TCTL_BACKEND: urls.env }, 'dir'],
      [['status', '--json'], { TCTL_BACKEND: urls.env, TCTL_DATA_DIR: dataDir }, 'env'],
    ];
    const results = await Promise.all(cases.map(([args, env]) => tctlAsync(args, { cwd, env })));
    results.forEach((r, i) => {
      const [args, env, want] = cases[i]!;
      const what = `${args.join(' ')} with ${Object.keys(env).join(',') || 'no env'}`;
      assert.equal(r.status, 0, `${what}: ${r.stderr}`);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.clusterName, `${want}.example.com`, what);
      if (want === 'dir') assert.equal(doc.dataDir, dataDir, what);
      else assert.deepEqual(doc.backend, { type: 'postgresql', url: decodeURIComponent(urls[want as keyof typeof urls]) }, what);
    });

    for (const args of [[`--backend=${urls.flag}`, `--data-dir=${dataDir}`, 'status'], ['auth', 'sign', '--user=x', `--data-dir=${dataDir}`, `--backend=${urls.flag}`]]) {
      const r = tctl(args, { cwd });
      assert.equal(r.status, 2, args.join(' '));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^tctl: error: --backend and --data-dir name two places for the CA; give one\ntctl: hint: /);
    }
    // Refused before anything was opened: the sign above spent no serial.
    assert.equal(pg.sql('SELECT last FROM tctl_serial', dbOf(urls.flag)).trim(), '0');
  });

  test('status and every message name the backend without its password, on a server that demands one', async () => {
    const cwd = tempDir();
    const encoded = encodeURIComponent(password);
    const url = `postgresql://tctl:${encoded}@127.0.0.1:${pg.port}/tctl_pw`;
    const shown = `postgresql://tctl@127.0.0.1:${pg.port}/tctl_pw`;
    fs.writeFileSync(path.join(cwd, 'teleport.yaml'), `teleport:\n  storage:\n    type: postgresql\n    conn_string: "${url}"\n`);
    const runs = [
      tctl(['auth', 'init', '--cluster-name=pw.example.com', `--backend=${url}`], { cwd }),
      tctl(['status'], { cwd, env: { TCTL_BACKEND: url } }),
      tctl(['status', '--json', '--config=teleport.yaml'], { cwd }),
      tctl(['auth', 'init', '--cluster-name=again.example.com', `--backend=${url}`], { cwd }),
      tctl(['auth', 'sign', '--user=x', '--key-type=dsa', `--backend=${url}`], { cwd }),
    ];
    assert.deepEqual(runs.map((r) => r.status), [0, 0, 0, 1, 2], runs.map((r) => r.stderr).join('\n'));
    assert.match(runs[0]!.stdout, new RegExp(`^Initialized cluster "pw.example.com" in PostgreSQL ${shown.replace(/[.?]/g, '\\$&')}\n`));
    assert.match(runs[1]!.stdout, new RegExp(`^Backend   PostgreSQL ${shown.replace(/[.?]/g, '\\$&')}$`, 'm'));
    assert.deepEqual(JSON.parse(runs[2]!.stdout).backend, { type: 'postgresql', url: shown });
    assert.match(runs[3]!.stderr, /already/);
    for (const r of runs) {
      for (const secret of [password, encoded, 's3cret']) assert.ok(!`${r.stdout}${r.stderr}`.includes(secret), `${secret} shown:\n${r.stdout}${r.stderr}`);
    }
    // The server really checks it: without the password, or with another, nothing is read.
    for (const bad of [`postgresql://tctl@127.0.0.1:${pg.port}/tctl_pw`, `postgresql://tctl:not-${encoded}@127.0.0.1:${pg.port}/tctl_pw`]) {
      const r = tctl(['status'], { cwd, env: { TCTL_BACKEND: bad } });
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^tctl: error: cannot reach PostgreSQL at postgresql:\/\/tctl@127\.0\.0\.1:\d+\/tctl_pw: (password authentication failed for user "tctl"|the server asks for a password and none was given)\ntctl: hint: check the user and password in the URL/);
      assert.ok(!r.stderr.includes('s3cret'), r.stderr);
    }
  });
});
