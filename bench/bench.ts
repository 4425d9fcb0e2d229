// `npm run bench`: every figure is a ratio against a baseline measured in the same run, because
// these machines are noisy. Prints one table; takes a few minutes. Never used as a test.
import { spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCaKey, signingKeyRecord } from '../src/ca/authority.js';
import { FOREVER, signCertificate } from '../src/ssh/certificate.js';
import { generatePrivateKey, publicKeyLine, sshPublicKey } from '../src/ssh/keys.js';
import { loadState } from '../src/store/state.js';
import { DirCaStore } from '../src/store/local/dir-ca-store.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TCTL = path.join(ROOT, 'bin', 'tctl');
// On tmpfs when there is one: the disk's writeback stalls here swing file-heavy timings by 10x,
// and every comparison (ours and its baseline) runs in the same place.
const scratch = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
const work = fs.mkdtempSync(path.join(scratch, 'tctl-bench-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
const dataDir = path.join(work, 'ca');
const env = { ...process.env, TCTL_DATA_DIR: dataDir, NO_COLOR: '1' };

function run(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): { ms: number; stdout: string; stderr: string } {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? work, env, input: opts.input, encoding: 'utf8', maxBuffer: 1 << 28 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { ms, stdout: r.stdout, stderr: r.stderr };
}
const tctl = (args: string[], opts?: { cwd?: string; input?: string }) => run(process.execPath, [TCTL, ...args], opts);

function stats(samples: number[]): { min: number; median: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]! };
}
function times(n: number, fn: () => number): { min: number; median: number } {
  fn(); // warm the page cache
  return stats(Array.from({ length: n }, fn));
}

interface Row {
  what: string;
  ours: string;
  baseline: string;
  ratio: string;
  target: string;
}
const rows: Row[] = [];
const ms = (v: number) => `${v.toFixed(1)} ms`;
const fmt = (s: { min: number; median: number }) => `${ms(s.min)} / ${ms(s.median)}`;
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
const progress = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

// 0. setup
tctl(['auth', 'init', '--cluster-name=example.com']);

// 1. start-up: node -e 0 and each command in turn, round after round, so that load on the
// machine falls on all of them alike.
progress('start-up');
const N = 25;
function interleaved(n: number, fns: Array<() => number>): Array<{ min: number; median: number }> {
  for (const fn of fns) fn(); // warm the page cache
  const samples = fns.map(() => [] as number[]);
  for (let i = 0; i < n; i++) fns.forEach((fn, j) => samples[j]!.push(fn()));
  return samples.map(stats);
}
const startup = [
  ['tctl --version', ['--version']],
  ['tctl auth export --type=user', ['auth', 'export', '--type=user']],
  ['tctl auth sign --user=x (key + cert + files)', ['auth', 'sign', '--user=x', '--out=x', '--overwrite']],
] as const;
const [bare, ...startupRuns] = interleaved(N, [() => run(process.execPath, ['-e', '0']).ms, ...startup.map(([, args]) => () => tctl([...args]).ms)]);
startup.forEach(([label], i) => {
  const ours = startupRuns[i]!;
  const ratioMin = ours.min / bare!.min;
  const ratio = ours.median / bare!.median;
  rows.push({ what: `start-up: ${label}`, ours: fmt(ours), baseline: `node -e 0: ${fmt(bare!)}`, ratio: `${ratioMin.toFixed(2)}x / ${ratio.toFixed(2)}x`, target: `<= 1.2x (min and median): ${verdict(ratioMin <= 1.2 && ratio <= 1.2)}` });
});

// 2. one host certificate end to end
progress('one host certificate');
const one = times(9, () => tctl(['auth', 'sign', '--host=api.example.com,10.0.0.5', '--out=one', '--overwrite']).ms);
run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(work, 'sk_ca')]);
const keygen = times(9, () => {
  fs.rmSync(path.join(work, 'k'), { force: true });
  fs.rmSync(path.join(work, 'k.pub'), { force: true });
  return run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(work, 'k')]).ms + run('ssh-keygen', ['-q', '-s', path.join(work, 'sk_ca'), '-h', '-I', 'api', '-n', 'api.example.com,10.0.0.5', path.join(work, 'k.pub')]).ms;
});
rows.push({ what: 'one host cert (key + cert)', ours: fmt(one), baseline: `ssh-keygen -t + -s: ${fmt(keygen)}`, ratio: `${(one.median / keygen.median).toFixed(2)}x`, target: 'report' });

// 3. batch of 10,000 host public keys
progress('batch of 10,000');
const BATCH = 10_000;
const hostPub = fs.readFileSync(path.join(work, 'k.pub'), 'utf8').trim();
fs.writeFileSync(
  path.join(work, 'batch.jsonl'),
  Array.from({ length: BATCH }, (_, i) => JSON.stringify({ host: `h${i}.example.com,10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, public_key: hostPub })).join('\n') + '\n',
);
const batchIn = (prefix: string[]) => (i: number) => run(prefix[0] ?? process.execPath, [...prefix.slice(1), ...(prefix.length > 0 ? [process.execPath] : []), TCTL, 'auth', 'sign', '--batch=batch.jsonl', `--out-dir=out${i}`]).ms;
// On every core (threads for a batch this size) and held to one core (the main thread alone, as
// before threads), in turn.
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
let outDirs = 0;
const [batch, oneCore] = interleaved(3, [() => batchIn([])(outDirs++), ...(hasTaskset ? [() => batchIn(['taskset', '-c', '0'])(outDirs++)] : [])]) as [
  { min: number; median: number },
  { min: number; median: number } | undefined,
];
const SAMPLE = 200;
const loop = times(1, () => {
  const t = process.hrtime.bigint();
  for (let i = 0; i < SAMPLE; i++) run('ssh-keygen', ['-q', '-s', path.join(work, 'sk_ca'), '-h', '-I', `h${i}`, '-z', String(i + 1), '-n', `h${i}.example.com`, path.join(work, 'k.pub')]);
  return (Number(process.hrtime.bigint() - t) / 1e6) * (BATCH / SAMPLE);
});
const speedup = loop.median / batch.median;
rows.push({ what: `batch ${BATCH} host certs vs ssh-keygen -s loop`, ours: fmt(batch), baseline: `${SAMPLE} runs x ${BATCH / SAMPLE}: ${ms(loop.median)}`, ratio: `${speedup.toFixed(1)}x faster`, target: `>= 20x: ${verdict(speedup >= 20)}` });
const edKey = generateKeyPairSync('ed25519').privateKey;
const tbs = Buffer.alloc(420, 7);
const rawRuns = Array.from({ length: 5 }, () => {
  const t = process.hrtime.bigint();
  for (let i = 0; i < BATCH; i++) sign(null, tbs, edKey);
  return Number(process.hrtime.bigint() - t) / 1e6;
});
const raw = stats(rawRuns);
const cores = os.availableParallelism();
const share = raw.min / batch.min;
rows.push({ what: `batch rate (${cores} cores) vs raw ed25519 sign, 1 thread`, ours: `${Math.round(BATCH / (batch.min / 1000))} certs/s`, baseline: `${Math.round(BATCH / (raw.min / 1000))} signs/s`, ratio: `${share.toFixed(2)}x`, target: `>= 1.5x: ${verdict(share >= 1.5)}` });
if (oneCore) {
  rows.push({ what: 'batch rate (taskset -c 0) vs raw ed25519 sign, 1 thread', ours: `${Math.round(BATCH / (oneCore.min / 1000))} certs/s`, baseline: `${Math.round(BATCH / (raw.min / 1000))} signs/s`, ratio: `${(raw.min / oneCore.min).toFixed(2)}x`, target: 'report' });
  rows.push({ what: `batch ${BATCH}: ${cores} cores vs one core (taskset -c 0)`, ours: fmt(batch), baseline: `one core: ${fmt(oneCore)}`, ratio: `${(oneCore.median / batch.median).toFixed(2)}x faster`, target: 'report' });
}

// 4. KRL of 100,000 revoked serials: runs and scattered serials
progress('KRL of 100,000 serials');
const state = loadState(new DirCaStore(dataDir));
const signer = signingKeyRecord(state.authorities.host);
const serials: bigint[] = [];
let s = 1_000n;
while (serials.length < 60_000) {
  const run = 1 + Math.floor(Math.random() * 500);
  for (let i = 0; i < run && serials.length < 60_000; i++) serials.push(s++);
  s += BigInt(1 + Math.floor(Math.random() * 2000));
}
const scattered = new Set<bigint>();
while (scattered.size < 40_000) scattered.add(s + BigInt(Math.floor(Math.random() * 4_000_000)));
serials.push(...scattered);
const now = new Date().toISOString();
fs.writeFileSync(
  path.join(dataDir, 'revoked.jsonl'),
  serials.map((n) => JSON.stringify({ kind: 'serial', serial: n.toString(), caFingerprint: signer.fingerprint, revokedAt: now })).join('\n') + '\n',
);
const caPub = path.join(work, 'host_ca.pub');
fs.writeFileSync(caPub, publicKeyLine(sshPublicKey(loadCaKey(new DirCaStore(dataDir), signer).privateKey!).type, Buffer.from(signer.publicKey, 'base64')) + '\n');
fs.writeFileSync(path.join(work, 'krl.spec'), serials.map((n) => `serial: ${n}`).join('\n') + '\n');
const [ourKrl, theirKrl] = interleaved(7, [
  () => tctl(['auth', 'export', '--type=krl', '-o', 'ours.krl']).ms,
  () => {
    fs.rmSync(path.join(work, 'theirs.krl'), { force: true });
    return run('ssh-keygen', ['-k', '-f', path.join(work, 'theirs.krl'), '-s', caPub, path.join(work, 'krl.spec')]).ms;
  },
]) as [{ min: number; median: number }, { min: number; median: number }];
const ourSize = fs.statSync(path.join(work, 'ours.krl')).size;
const theirSize = fs.statSync(path.join(work, 'theirs.krl')).size;
rows.push({ what: 'KRL 100k serials: export time', ours: fmt(ourKrl), baseline: `ssh-keygen -k: ${fmt(theirKrl)}`, ratio: `${(ourKrl.min / theirKrl.min).toFixed(2)}x / ${(ourKrl.median / theirKrl.median).toFixed(2)}x`, target: `<= 1.2x: ${verdict(ourKrl.median / theirKrl.median <= 1.2)}` });
rows.push({ what: 'KRL 100k serials: file size', ours: `${ourSize} B`, baseline: `ssh-keygen -k: ${theirSize} B`, ratio: `${(ourSize / theirSize).toFixed(3)}x`, target: 'report' });
// Verdicts on a sample: revoked serials, their neighbours, and random ones.
const caKey = loadCaKey(new DirCaStore(dataDir), signer).privateKey!;
const subject = sshPublicKey(generatePrivateKey('ed25519'));
const revokedSet = new Set(serials);
const sample: bigint[] = [];
for (let i = 0; i < 100; i++) {
  const base = serials[Math.floor(Math.random() * serials.length)]!;
  sample.push(base, base + 1n, base - 1n);
}
const certFiles = sample.map((serial, i) => {
  const file = path.join(work, `q${i}-cert.pub`);
  const blob = signCertificate({ key: subject, nonce: Buffer.alloc(32, i), serial, type: 'host', keyId: `q${i}`, principals: ['q.example.com'], validAfter: 0n, validBefore: FOREVER, criticalOptions: [], extensions: [] }, caKey);
  fs.writeFileSync(file, publicKeyLine('ssh-ed25519-cert-v01@openssh.com', blob) + '\n');
  return file;
});
const q = spawnSync('ssh-keygen', ['-Q', '-f', path.join(work, 'ours.krl'), ...certFiles], { encoding: 'utf8' });
const verdicts = q.stdout.trim().split('\n').map((l) => l.endsWith('REVOKED'));
const agree = verdicts.length === sample.length && sample.every((serial, i) => verdicts[i] === revokedSet.has(serial));
rows.push({ what: `ssh-keygen -Q on our KRL (${sample.length} certs)`, ours: agree ? 'identical verdicts' : 'MISMATCH', baseline: 'set membership', ratio: '-', target: verdict(agree) });

// 5. auth sign with a 1,000,000-entry log vs an empty one
progress('sign with a 1,000,000-entry log');
const small = path.join(work, 'small');
const big = path.join(work, 'big');
for (const dir of [small, big]) {
  fs.mkdirSync(dir);
  spawnSync(process.execPath, [TCTL, 'auth', 'init', '--cluster-name=example.com', '--data-dir', path.join(dir, 'ca')], { env });
}
{
  const fd = fs.openSync(path.join(big, 'ca', 'issued.jsonl'), 'w', 0o600);
  const line = (i: number) => JSON.stringify({ serial: String(i), keyId: `h${i}.example.com`, type: 'host', principals: [`h${i}.example.com`], validAfter: now, validBefore: 'forever', caFingerprint: signer.fingerprint, publicKeyFingerprint: 'SHA256:x', issuedAt: now });
  for (let i = 1; i <= 1_000_000; i += 10_000) fs.writeSync(fd, Array.from({ length: 10_000 }, (_, j) => line(i + j)).join('\n') + '\n');
  fs.closeSync(fd);
  fs.writeFileSync(path.join(big, 'ca', 'serial'), '1000000\n');
}
const signIn = (dir: string) => () => run(process.execPath, [TCTL, 'auth', 'sign', '--host=api.example.com', '--out=one', '--overwrite', '--data-dir', path.join(dir, 'ca')], { cwd: dir }).ms;
const emptyLog = times(11, signIn(small));
const bigLog = times(11, signIn(big));
const growth = bigLog.median / emptyLog.median;
rows.push({ what: 'auth sign: 1,000,000-entry log vs empty', ours: fmt(bigLog), baseline: `empty log: ${fmt(emptyLog)}`, ratio: `${growth.toFixed(2)}x`, target: `within 10%: ${verdict(growth <= 1.1)}` });

// 6. TLS: one-shot start-up of TLS commands, and the in-process issuance rate
progress('TLS');
for (const [label, args] of [
  ['tctl auth export --type=db-client', ['auth', 'export', '--type=db-client']],
  ['tctl auth sign --format=tls --user=joe', ['auth', 'sign', '--format=tls', '--user=joe', '--out=tlsjoe', '--overwrite']],
] as const) {
  const ours = times(N, () => tctl([...args]).ms);
  rows.push({ what: `TLS one-shot: ${label}`, ours: fmt(ours), baseline: `node -e 0: ${fmt(bare!)}`, ratio: `${(ours.min / bare!.min).toFixed(2)}x / ${(ours.median / bare!.median).toFixed(2)}x`, target: 'report' });
}
{
  const x = await import('../src/x509/index.js');
  const ISSUE = 2000;
  for (const keyType of ['ecdsa-p256', 'rsa-2048'] as const) {
    const caKeys = x.generateX509Key(keyType);
    const signerX = x.signerFromKeyObject(caKeys.privateKey);
    const issuer = x.issuerFromCertificate(x.createCaCertificate({ clusterName: 'example.com', signer: signerX, now: new Date() }).der, signerX);
    // Distinct KeyObjects (as each request brings its own key), from a few generated keys.
    const pems = Array.from({ length: 20 }, () => x.publicKeyPem(x.generateX509Key(keyType).publicKey));
    const leaves = Array.from({ length: ISSUE * 3 }, (_, i) => createPublicKey(pems[i % pems.length]!));
    let next = 0;
    const issueRuns = Array.from({ length: 3 }, () => {
      const t = process.hrtime.bigint();
      for (let i = 0; i < ISSUE; i++) {
        x.issueLeafCertificate({ profile: 'db-server', publicKey: leaves[next++]!, names: ['db.example.com', '10.0.0.5'], ttlSeconds: 3600 }, issuer, { now: new Date() });
      }
      return Number(process.hrtime.bigint() - t) / 1e6;
    });
    const tbsX = Buffer.alloc(600, 7);
    const rawX = Array.from({ length: 3 }, () => {
      const t = process.hrtime.bigint();
      for (let i = 0; i < ISSUE; i++) sign('sha256', tbsX, { key: caKeys.privateKey, dsaEncoding: 'der' });
      return Number(process.hrtime.bigint() - t) / 1e6;
    });
    const rate = ISSUE / (stats(issueRuns).min / 1000);
    const rawRate = ISSUE / (stats(rawX).min / 1000);
    rows.push({ what: `X.509 issuance (${keyType} CA) vs raw signature`, ours: `${Math.round(rate)} certs/s`, baseline: `${Math.round(rawRate)} signs/s`, ratio: `${((rate / rawRate) * 100).toFixed(0)}%`, target: 'report' });
  }
}

// The table
const cols: Array<keyof Row> = ['what', 'ours', 'baseline', 'ratio', 'target'];
const head: Row = { what: 'measurement (min / median)', ours: 'tctl', baseline: 'baseline (same run)', ratio: 'ratio', target: 'target' };
const widths = cols.map((c) => Math.max(...[head, ...rows].map((r) => r[c].length)));
const line = (r: Row) => `| ${cols.map((c, i) => r[c].padEnd(widths[i]!)).join(' | ')} |`;
console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${spawnSync('ssh', ['-V'], { encoding: 'utf8' }).stderr.trim()}, files in ${scratch}`);
console.log(line(head));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
