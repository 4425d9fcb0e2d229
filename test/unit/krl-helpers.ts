// Helpers for the KRL tests: drive the real ssh-keygen in a temp dir, and a seeded random source
// so a failing property round can be replayed from its seed.

import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SshReader } from '../../src/ssh/wire.js';

const execFileAsync = promisify(execFile);

// ssh-keygen only needs PATH; a fixed TZ and locale keep `-Q -l` output (dates, UTF-8 key ids)
// the same on every machine, and nothing points it at the developer's home directory.
const SSH_KEYGEN_ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC', LC_ALL: 'C.UTF-8' };

export const U64_MAX = (1n << 64n) - 1n;

export function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tctl-krl-'));
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export function sshKeygen(cwd: string, args: string[]): string {
  const r = spawnSync('ssh-keygen', args, { cwd, env: SSH_KEYGEN_ENV, encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`ssh-keygen ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

export interface TestKey {
  /** private key file, relative to the temp dir */
  name: string;
  pub: string;
  blob: Buffer;
  sha256: Buffer;
}

export function newEd25519Key(dir: string, name: string): TestKey {
  sshKeygen(dir, ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', name]);
  const blob = publicKeyBlob(path.join(dir, `${name}.pub`));
  return { name, pub: `${name}.pub`, blob, sha256: createHash('sha256').update(blob).digest() };
}

export function publicKeyBlob(file: string): Buffer {
  const field = fs.readFileSync(file, 'utf8').trim().split(/\s+/)[1];
  if (field === undefined) throw new Error(`${file} is not a public key file`);
  return Buffer.from(field, 'base64');
}

/** OpenSSH's SHA256:base64 fingerprint, as printed in `ssh-keygen -Q -l` CA headers. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export interface CertRequest {
  ca: TestKey;
  subject: TestKey;
  keyId: string;
  /** omitted = no -z, i.e. serial 0 */
  serial?: bigint;
}

/**
 * Signs each request with `ssh-keygen -s`, a few at a time. ssh-keygen names the certificate after
 * the public key it signs, so every request signs its own copy of the subject's public key.
 */
export async function signCertificates(dir: string, requests: CertRequest[]): Promise<string[]> {
  const files = requests.map((_, i) => `cert${i}.pub`);
  const sign = async (i: number): Promise<void> => {
    const req = requests[i]!;
    const copy = `cert${i}`;
    fs.copyFileSync(path.join(dir, req.subject.pub), path.join(dir, `${copy}.pub`));
    const args = ['-q', '-s', req.ca.name, '-I', req.keyId, '-n', 'x'];
    if (req.serial !== undefined) args.push('-z', req.serial.toString());
    await execFileAsync('ssh-keygen', [...args, `${copy}.pub`], { cwd: dir, env: SSH_KEYGEN_ENV });
    fs.renameSync(path.join(dir, `${copy}-cert.pub`), path.join(dir, files[i]!));
  };
  const concurrency = Math.max(1, Math.min(8, os.availableParallelism()));
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests.length) await sign(next++);
    }),
  );
  return files;
}

export type Verdict = 'ok' | 'REVOKED';

/**
 * One `ssh-keygen -Q` for many files: it prints "<file>[ (<comment>)]: ok|REVOKED" per file in
 * argument order and exits 1 when any is revoked.
 */
export function checkWithSshKeygen(dir: string, krlFile: string, files: string[]): Verdict[] {
  const r = spawnSync('ssh-keygen', ['-Q', '-f', krlFile, ...files], { cwd: dir, env: SSH_KEYGEN_ENV, encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0 && r.status !== 1) throw new Error(`ssh-keygen -Q exited ${r.status}: ${r.stderr}`);
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  if (lines.length !== files.length) throw new Error(`ssh-keygen -Q printed ${lines.length} lines for ${files.length} files`);
  return lines.map((line, i) => {
    const file = files[i]!;
    if (!line.startsWith(file)) throw new Error(`ssh-keygen -Q line ${i + 1} is not about ${file}: ${line}`);
    if (line.endsWith(': REVOKED')) return 'REVOKED';
    if (line.endsWith(': ok')) return 'ok';
    throw new Error(`unexpected ssh-keygen -Q line: ${line}`);
  });
}

export interface KrlDump {
  header: string[];
  hashes: string[];
  /** keyed by CA fingerprint, or "*" for the wildcard CA */
  cas: Map<string, { serials: string[]; ids: string[] }>;
}

/** Parses `ssh-keygen -Q -l` (krl_dump), OpenSSH's own reading of a KRL. */
export function dumpWithSshKeygen(dir: string, krlFile: string): KrlDump {
  const out = sshKeygen(dir, ['-Q', '-l', '-f', krlFile]);
  const dump: KrlDump = { header: [], hashes: [], cas: new Map() };
  let current: { serials: string[]; ids: string[] } | undefined;
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const ca = /^# CA key \S+ (SHA256:\S+)$/.exec(line);
    if (ca !== null || line === '# Wildcard CA') {
      current = { serials: [], ids: [] };
      dump.cas.set(ca === null ? '*' : ca[1]!, current);
    } else if (line.startsWith('serial: ') && current) {
      current.serials.push(line.slice(8));
    } else if (line.startsWith('id: ') && current) {
      current.ids.push(line.slice(4));
    } else if (line.startsWith('hash: ')) {
      dump.hashes.push(line.slice(6));
    } else if (line.startsWith('# ') && current === undefined) {
      dump.header.push(line.slice(2));
    } else {
      throw new Error(`unexpected ssh-keygen -Q -l line: ${line}`);
    }
  }
  return dump;
}

/** Sorted unique serials as krl_dump prints them: "N" or "LO-HI" per maximal run. */
export function runLines(sortedUnique: bigint[]): string[] {
  return serialRuns(sortedUnique).map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`));
}

export function serialRuns(sortedUnique: bigint[]): Array<[bigint, bigint]> {
  const runs: Array<[bigint, bigint]> = [];
  for (const s of sortedUnique) {
    const last = runs[runs.length - 1];
    if (last !== undefined && s === last[1] + 1n) last[1] = s;
    else runs.push([s, s]);
  }
  return runs;
}

export function sortBigints(values: Iterable<bigint>): bigint[] {
  return [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Sub-section types of each certificates section, to check which encodings were chosen. */
export function certSubsectionTypes(krl: Buffer): number[][] {
  const r = new SshReader(krl);
  r.raw(8 + 4 + 8 + 8 + 8);
  r.string();
  r.string();
  const out: number[][] = [];
  while (r.remaining > 0) {
    const type = r.byte();
    const body = new SshReader(r.string());
    if (type !== 1) continue;
    body.string();
    body.string();
    const types: number[] = [];
    while (body.remaining > 0) {
      types.push(body.byte());
      body.string();
    }
    out.push(types);
  }
  return out;
}

/** A small seeded generator (mulberry32); good enough to spread test cases, not for keys. */
export class TestRandom {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  uint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** uniform in [0, 1) */
  float(): number {
    return this.uint32() / 2 ** 32;
  }

  /** integer in [min, max] */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  uint64(): bigint {
    return (BigInt(this.uint32()) << 32n) | BigInt(this.uint32());
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}
