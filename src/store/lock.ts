// One writer at a time per data dir, by flock(2) on a lock file that is never removed.
//
// The kernel drops a flock when the last descriptor of its open file is closed, which happens
// however the holder ends (exit, crash, SIGKILL), so there is nothing stale to detect or break.
// Ownership belongs to the open file, not to a pid: it holds across PID namespaces (a container
// sharing the data dir), where a pid read from a file names another process or none at all.
// Deleting the lock file would let a newcomer lock a fresh inode while the holder still locks the
// old one, so the file stays. On NFS, Linux emulates flock with fcntl byte-range locks, which the
// server arbitrates between hosts.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { TctlError } from '../errors.js';
import { fileError } from './files.js';
import { KEYS_DIR, SERIAL_FILE, STATE_FILE } from './state.js';

export const LOCK_FILE = 'tctl.lock';
const WAIT_MS = 30_000;
/** The holder's note ("pid host") is informational; cap what we read of it for the message. */
const NOTE_MAX_BYTES = 256;

type Flock = (fd: number, flags: 'exnb' | 'un') => void;
let flockSync: Flock | undefined;

/** fs-ext is a native addon: loaded on first lock, so --help and --version never pay for it. */
function flock(): Flock {
  flockSync ??= (createRequire(import.meta.url)('fs-ext') as { flockSync: Flock }).flockSync;
  return flockSync;
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function tryLock(fd: number, file: string): boolean {
  try {
    flock()(fd, 'exnb');
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR') return false;
    throw fileError('cannot lock', file, err);
  }
}

/** Who holds the lock, as its holder wrote it: only for the message, never to decide anything. */
function holderNote(fd: number): string {
  const buf = Buffer.alloc(NOTE_MAX_BYTES);
  let n = 0;
  try {
    n = fs.readSync(fd, buf, 0, buf.length, 0);
  } catch {
    // the note is optional
  }
  const m = /^(\d{1,10}) ([\x21-\x7e]{1,200})\n/.exec(buf.subarray(0, n).toString('latin1'));
  return m ? `pid ${m[1]} on ${m[2]} (as that process sees its pid)` : 'another process';
}

function writeNote(fd: number): void {
  try {
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, `${process.pid} ${hostname()}\n`, 0);
  } catch {
    // informational only; the flock is what excludes others
  }
}

function openLockFile(dataDir: string): number {
  try {
    return fs.openSync(path.join(dataDir, LOCK_FILE), fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    throw fileError('cannot lock data dir', dataDir, err);
  }
}

/** Tries the flock until it is ours; yields how long to wait before the next try, throws at the deadline. */
function* lockWaits(dataDir: string, fd: number): Generator<number> {
  const file = path.join(dataDir, LOCK_FILE);
  const deadline = Date.now() + WAIT_MS;
  for (let delay = 5; !tryLock(fd, file); delay = Math.min(delay * 2, 100)) {
    if (Date.now() > deadline) {
      throw new TctlError(`data dir ${dataDir} is locked by ${holderNote(fd)}`, {
        hint: 'another tctl is still working on it; the lock is released the moment that process ends',
      });
    }
    yield delay + Math.random() * delay;
  }
  writeNote(fd);
  removeOrphanedTempFiles(dataDir);
}

function clearNote(fd: number): void {
  try {
    fs.ftruncateSync(fd, 0);
  } catch {
    // informational only
  }
}

/** Runs fn while holding the data dir's lock. */
export function withLock<T>(dataDir: string, fn: () => T): T {
  const fd = openLockFile(dataDir);
  try {
    for (const wait of lockWaits(dataDir, fd)) sleep(wait);
    try {
      return fn();
    } finally {
      clearNote(fd);
    }
  } finally {
    // Closing the only descriptor of this open file releases the flock.
    fs.closeSync(fd);
  }
}

/**
 * A process killed between staging a temp file (`.NAME.tmp-PID-RAND`) and renaming it leaves it
 * behind. The data dir's own files (state.json, serial, keys/*) are only ever staged by a lock
 * holder, and we hold the lock now, so every temp file of theirs belongs to a holder that has
 * finished or died: it is garbage, whatever its pid says (a pid from another PID namespace
 * says nothing). Temp files of other names may be a user's --out staged without the lock by a
 * live process, so they are left alone.
 */
function removeOrphanedTempFiles(dataDir: string): void {
  const ours = (dir: string, target: string) => dir !== dataDir || target === STATE_FILE || target === SERIAL_FILE;
  for (const dir of [dataDir, path.join(dataDir, KEYS_DIR)]) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = /^\.(.+)\.tmp-\d+-[0-9a-f]{8}$/.exec(name);
      if (m && ours(dir, m[1]!)) fs.rmSync(path.join(dir, name), { force: true });
    }
  }
}

/**
 * withLock for a caller that awaits while it holds the lock (the storage interface is async):
 * the same lock file, flock, holder note, wait and clean-up; waiting yields to the event loop.
 */
export async function withLockAsync<T>(dataDir: string, fn: () => Promise<T>): Promise<T> {
  const fd = openLockFile(dataDir);
  try {
    for (const wait of lockWaits(dataDir, fd)) await new Promise((r) => setTimeout(r, wait));
    try {
      return await fn();
    } finally {
      clearNote(fd);
    }
  } finally {
    fs.closeSync(fd);
  }
}
