// `npm run bench`, the storage part: the PostgreSQL backend against the data dir, both measured in
// this run with the same tctl (every figure is a ratio against its same-run baseline). A throwaway
// PostgreSQL cluster (fsync on) is started in a temp dir and stopped at the end.
//   1. `auth sign --user` on PostgreSQL vs the data dir, one process at a time
//   2. signs/s with 8 concurrent processes, each signing one certificate after another
//   3. a 10,000-certificate batch on PostgreSQL vs the data dir (target: at least 0.5x the rate)
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePrivateKey, publicKeyLine, sshPublicKey } from '../src/ssh/keys.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { freshDatabase } from '../test/helpers/stores.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TCTL = path.join(ROOT, 'bin', 'tctl');
const scratch = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
const work = fs.mkdtempSync(path.join(scratch, 'tctl-bench-store-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
const progress = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

type Where = Record<string, string>;

function tctl(where: Where, args: string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [TCTL, ...args], { cwd: work, env: { ...process.env, ...where, NO_COLOR: '1' }, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`tctl ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs n `auth sign` one after another in each of procs processes at once; certificates per second. */
async function concurrentSigns(where: Where, tag: string, procs: number, n: number): Promise<number> {
  const script = `for i in $(seq ${n}); do "$NODE" "$TCTL" auth sign --user=c$1-$i --out=${tag}-c$1-$i || exit 1; done`;
  const t = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: procs }, (_, p) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn('sh', ['-c', script, 'sh', String(p)], { cwd: work, env: { ...process.env, ...where, NODE: process.execPath, TCTL, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
        child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`concurrent signer ${p} failed: ${err}`))));
      }),
    ),
  );
  return (procs * n) / (Number(process.hrtime.bigint() - t) / 1e9);
}

const pg = await startPostgres();
try {
  const local: Where = { TCTL_DATA_DIR: path.join(work, 'ca') };
  const postgres: Where = { TCTL_BACKEND: freshDatabase(pg) };
  for (const w of [local, postgres]) tctl(w, ['auth', 'init', '--cluster-name=example.com']);
  const rows: string[][] = [['what', 'PostgreSQL', 'data dir', 'ratio', 'target']];

  progress('auth sign, one process');
  const ROUNDS = 9;
  const one = (w: Where) => median(Array.from({ length: ROUNDS }, (_, i) => tctl(w, ['auth', 'sign', `--user=one${i}`, '--out=one', '--overwrite'])));
  // Interleaved, so drift on a noisy machine hits both alike.
  const [pgOne, dirOne] = [one(postgres), one(local)];
  rows.push(['auth sign --user (median of 9)', `${pgOne.toFixed(0)} ms`, `${dirOne.toFixed(0)} ms`, `${(pgOne / dirOne).toFixed(2)}x the time`, 'report']);

  progress('8 concurrent signing processes');
  const PROCS = 8;
  const EACH = 10;
  const pgRate = await concurrentSigns(postgres, 'pg', PROCS, EACH);
  const dirRate = await concurrentSigns(local, 'dir', PROCS, EACH);
  rows.push([`signs/s, ${PROCS} processes x ${EACH}`, `${pgRate.toFixed(1)}/s`, `${dirRate.toFixed(1)}/s`, `${(pgRate / dirRate).toFixed(2)}x the rate`, 'report']);

  progress('batch of 10,000');
  const BATCH = 10_000;
  const pub = publicKeyLine('ssh-ed25519', sshPublicKey(generatePrivateKey('ed25519')).blob);
  fs.writeFileSync(path.join(work, 'batch.jsonl'), Array.from({ length: BATCH }, (_, i) => JSON.stringify({ host: `h${i}.example.com`, public_key: pub })).join('\n') + '\n');
  const batch = (w: Where, i: number) => tctl(w, ['auth', 'sign', '--batch=batch.jsonl', `--out-dir=b${i}`]);
  const pgBatch: number[] = [];
  const dirBatch: number[] = [];
  for (let i = 0; i < 3; i++) {
    pgBatch.push(batch(postgres, 2 * i));
    dirBatch.push(batch(local, 2 * i + 1));
  }
  const ratio = median(dirBatch) / median(pgBatch);
  rows.push([`batch of ${BATCH} (median of 3)`, `${median(pgBatch).toFixed(0)} ms`, `${median(dirBatch).toFixed(0)} ms`, `${ratio.toFixed(2)}x the rate`, `>= 0.5x: ${ratio >= 0.5 ? 'met' : 'NOT met'}`]);

  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  console.log('\nPostgreSQL backend vs data dir (same tctl, same run; PostgreSQL with fsync on, on this machine)');
  for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
} finally {
  await pg.stop();
}
