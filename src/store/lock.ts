// One writer at a time per data dir. Node has no flock(2), so the lock is a file created with
// O_EXCL holding "pid host"; a lock left by a killed process (same host, pid gone) is broken.
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { TctlError } from '../errors.js';
import { fileError } from './files.js';
import { KEYS_DIR } from './state.js';

const LOCK_FILE = 'tctl.lock';
const WAIT_MS = 30_000;
/** A lock file still empty after this long was left by a process killed before writing its pid. */
const EMPTY_LOCK_GRACE_MS = 2_000;

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): { content: string; mtimeMs: number } | undefined {
  try {
    return { content: fs.readFileSync(file, 'utf8'), mtimeMs: fs.statSync(file).mtimeMs };
  } catch {
    return undefined;
  }
}

function isStale(lock: { content: string; mtimeMs: number }): boolean {
  const m = /^(\d+) (\S+)/.exec(lock.content);
  if (!m) return Date.now() - lock.mtimeMs > EMPTY_LOCK_GRACE_MS;
  return m[2] === hostname() && !isAlive(Number(m[1]));
}

/**
 * Breaks a stale lock. Only the holder of lock.break may remove it, and only if the lock still
 * holds what we judged stale, so two waiters cannot both break it and both proceed.
 */
function breakStaleLock(file: string, seen: string): void {
  const breaker = file + '.break';
  let fd: number;
  try {
    fd = fs.openSync(breaker, 'wx', 0o600);
  } catch {
    const b = readLock(breaker);
    if (b && Date.now() - b.mtimeMs > 10_000) fs.rmSync(breaker, { force: true });
    return;
  }
  try {
    if (readLock(file)?.content === seen) fs.rmSync(file, { force: true });
  } finally {
    fs.closeSync(fd);
    fs.rmSync(breaker, { force: true });
  }
}

/** Runs fn while holding the data dir's lock. */
export function withLock<T>(dataDir: string, fn: () => T): T {
  const file = path.join(dataDir, LOCK_FILE);
  const deadline = Date.now() + WAIT_MS;
  let fd: number | undefined;
  for (let delay = 5; fd === undefined; delay = Math.min(delay * 2, 100)) {
    try {
      fd = fs.openSync(file, 'wx', 0o600);
      fs.writeSync(fd, `${process.pid} ${hostname()}\n`);
      fs.fsyncSync(fd);
    } catch (err) {
      if (fd !== undefined) {
        fs.closeSync(fd);
        fs.rmSync(file, { force: true });
        throw fileError('cannot write lock file', file, err);
      }
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fileError('cannot lock data dir', dataDir, err);
      const lock = readLock(file);
      if (lock && isStale(lock)) {
        breakStaleLock(file, lock.content);
        continue;
      }
      if (Date.now() > deadline) {
        const holder = lock?.content.trim() || 'another process';
        throw new TctlError(`data dir ${dataDir} is locked by ${holder}`, { hint: `if no tctl is running, remove ${file}` });
      }
      sleep(delay + Math.random() * delay);
    }
  }
  try {
    removeStaleTempFiles(dataDir);
    return fn();
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

/**
 * A process killed between writing a temp file and renaming it leaves `.NAME.tmp-PID-RAND`
 * behind; with the lock held, those of dead processes are garbage.
 */
function removeStaleTempFiles(dataDir: string): void {
  for (const dir of [dataDir, path.join(dataDir, KEYS_DIR)]) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = /^\..+\.tmp-(\d+)-[0-9a-f]{8}$/.exec(name);
      if (m && Number(m[1]) !== process.pid && !isAlive(Number(m[1]))) fs.rmSync(path.join(dir, name), { force: true });
    }
  }
}
