// Fixtures for the storage tests: a fresh empty store of each kind (a data dir in a temp dir, a
// new database on one throwaway PostgreSQL), fake issuance records, and the store worker process.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IssuanceRecord } from '../../src/store/issuance.js';
import type { StoreLocation } from '../../src/store/select.js';
import type { Postgres } from './postgres.js';
import { postgresBinDir } from './postgres.js';
import { tempDir } from './run.js';

export function fakeRecord(serial: bigint, keyId: string): IssuanceRecord {
  return {
    serial: serial.toString(),
    keyId,
    type: 'user',
    principals: [keyId],
    validAfter: '2024-01-01T00:00:00.000Z',
    validBefore: '2024-01-02T00:00:00.000Z',
    caFingerprint: 'SHA256:test-ca',
    publicKeyFingerprint: `SHA256:key-${serial}`,
    issuedAt: '2024-01-01T00:00:00.000Z',
  };
}

let databases = 0;

/** A new empty database on pg, reached over its unix socket (the ?host= form of the URL). */
export function freshDatabase(pg: Postgres): string {
  const name = `tctl_${process.pid}_${++databases}`;
  pg.sql(`CREATE DATABASE ${name}`);
  return `postgresql://${pg.superuser}@/${name}?host=${encodeURIComponent(pg.dir)}&port=${pg.port}`;
}

export function freshDataDir(): string {
  return path.join(tempDir('tctl-store-'), 'ca');
}

export function freshLocation(kind: 'dir' | 'postgresql', pg?: Postgres): StoreLocation {
  return kind === 'dir' ? { kind, dataDir: freshDataDir(), source: '--data-dir' } : { kind, url: freshDatabase(pg!), source: '--backend' };
}

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'store-worker.js');

export interface WorkerResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts a store worker (see store-worker.ts); `done` resolves when it exits. */
export function startWorker(args: object): { child: ChildProcess; done: Promise<WorkerResult>; output: () => string; waitFor: (re: RegExp) => Promise<void> } {
  const child = spawn(process.execPath, [WORKER, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const listeners: Array<() => void> = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    for (const l of listeners) l();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<WorkerResult>((resolve) => child.once('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
  const waitFor = (re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => re.test(stdout) && resolve();
      listeners.push(check);
      check();
      void done.then((r) => reject(new Error(`worker exited (${r.status ?? r.signal}) before ${re}: ${r.stderr}`)));
    });
  return { child, done, output: () => stdout, waitFor };
}

export const runWorker = (args: object): Promise<WorkerResult> => startWorker(args).done;

/** pg_ctl as the server's OS user, on the helper's cluster (stop and start again in place). */
export function pgCtl(pg: Postgres, args: string[]): { status: number | null; stderr: string } {
  const st = fs.statSync(pg.dataDir);
  const r = spawnSync(path.join(postgresBinDir(), 'pg_ctl'), ['-D', pg.dataDir, ...args], {
    uid: st.uid,
    gid: st.gid,
    cwd: pg.dir,
    env: { PATH: process.env.PATH, HOME: pg.dir, LANG: 'C' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stderr: `${r.stdout}${r.stderr}` };
}
