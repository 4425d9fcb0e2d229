// Durable file primitives: every secret or state file goes through writeFileAtomic.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TctlError } from '../errors.js';

/** Creates dir and any missing parents as 0700, whatever the umask; leaves existing ones alone. */
export function ensurePrivateDir(dir: string): void {
  const abs = path.resolve(dir);
  const missing: string[] = [];
  for (let d = abs; !exists(d); d = path.dirname(d)) {
    missing.unshift(d);
    if (d === path.dirname(d)) break;
  }
  for (const d of missing) {
    try {
      fs.mkdirSync(d, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fileError('cannot create directory', d, err);
    }
    fs.chmodSync(d, 0o700);
  }
  if (!fs.statSync(abs).isDirectory()) throw new TctlError(`${dir} is not a directory`);
}

function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

export function fileError(what: string, file: string, err: unknown): TctlError {
  // Already worded for the user (e.g. by readFileCapped): wrapping it again would repeat the name.
  if (err instanceof TctlError) return err;
  const e = err as NodeJS.ErrnoException;
  const reason =
    e.code === 'EACCES' || e.code === 'EPERM'
      ? 'permission denied'
      : e.code === 'ENOENT'
        ? 'no such file or directory'
        : e.code === 'EROFS'
          ? 'read-only file system'
          : e.code === 'ENOSPC'
            ? 'no space left on device'
            : e.code === 'EISDIR'
              ? 'is a directory'
              : e.code === 'ENOTDIR'
                ? 'a path component is not a directory'
                : (e.message ?? String(err));
  return new TctlError(`${what} ${file}: ${reason}`, { cause: err });
}

/** A file refused before reading it all: `problem` follows the file's name ("is a directory"). */
export class FileRefusedError extends TctlError {
  constructor(
    readonly fileName: string,
    readonly problem: string,
  ) {
    super(`${fileName} ${problem}`);
  }
}

/** "64 KiB", "1 MiB": caps are named the way people size files. */
export function byteSize(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

const READ_CHUNK = 64 * 1024;

/**
 * Cap for the data dir's own files read whole (state.json, CA keys): far beyond any real one,
 * it only stops a damaged or swapped file (a link to /dev/zero) from exhausting memory.
 */
export const MAX_DATA_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Reads a whole file, refusing it once more than maxBytes arrive. stat().size is not trusted:
 * /dev/zero, FIFOs and /proc files report 0 (or anything), so the bytes are counted as they are
 * read through one descriptor, and reading stops once past maxBytes. A directory is refused by name.
 * name is how errors call the file (e.g. "--public-key key.pub"); system errors (ENOENT, EACCES)
 * are thrown as they come so callers can word them; missingOk returns undefined for ENOENT.
 */
export function readFileCapped(file: string, maxBytes: number, opts?: { name?: string; missingOk?: false }): Buffer;
export function readFileCapped(file: string, maxBytes: number, opts: { name?: string; missingOk: true }): Buffer | undefined;
export function readFileCapped(file: string, maxBytes: number, opts: { name?: string; missingOk?: boolean } = {}): Buffer | undefined {
  const name = opts.name ?? file;
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if (opts.missingOk && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    if (fs.fstatSync(fd).isDirectory()) throw new FileRefusedError(name, 'is a directory');
    const chunks: Buffer[] = [];
    let total = 0;
    // Whole chunks (some /proc files refuse odd-sized reads), copied out so a pipe that gives a
    // byte at a time costs a byte, not a chunk: at most maxBytes + one chunk is ever held.
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        // A descriptor someone left non-blocking (a pipe, a tty): wait for data as cat would.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      if (n === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
      total += n;
      if (total > maxBytes) throw new FileRefusedError(name, `is too large (more than ${byteSize(maxBytes)})`);
    }
    return Buffer.concat(chunks, total);
  } finally {
    fs.closeSync(fd);
  }
}

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Writes data to a new temp file beside target with exactly mode; returns its path. durable=false
 * skips the fsync, for bulk public output whose record is already durable elsewhere.
 */
export function stageFile(target: string, data: string | Buffer, mode: number, durable = true): string {
  const tmp = tempPath(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, mode);
    fs.fchmodSync(fd, mode);
    fs.writeFileSync(fd, data);
    if (durable) fs.fsyncSync(fd);
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    fd = undefined;
    removeTemp(tmp);
    throw fileError('cannot write', target, err);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return tmp;
}

/** Removes a temp file that may never have been created; the error worth reporting is the caller's. */
function removeTemp(tmp: string): void {
  try {
    fs.rmSync(tmp, { force: true });
  } catch {
    // ENOTDIR and the like: there is no temp file to remove.
  }
}

function tempPath(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** An output whose temp file exists before its content does; see reserveFile. */
export interface ReservedFile {
  readonly target: string;
  /** Writes the content (once) and closes the temp file. */
  fill(data: string | Buffer, durable?: boolean): void;
  /** Moves the filled temp file to its target, as publishFile. */
  publish(overwrite: boolean, durable?: boolean): void;
  /** Removes the temp file if it is still there; safe to call at any time. */
  discard(): void;
}

/**
 * Creates the temp file for target now, empty, with exactly mode. Done before a serial is taken,
 * it proves the output can be created (the directory exists and takes a new file) so that a
 * certificate is not logged as issued and then have nowhere to go.
 */
export function reserveFile(target: string, mode: number): ReservedFile {
  const tmp = tempPath(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, mode);
    fs.fchmodSync(fd, mode);
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    removeTemp(tmp);
    throw fileError('cannot write', target, err);
  }
  let open: number | undefined = fd;
  let filled = false;
  const close = () => {
    if (open !== undefined) fs.closeSync(open);
    open = undefined;
  };
  return {
    target,
    fill(data, durable = true) {
      if (open === undefined) throw new Error(`reserveFile: ${target} was already filled`);
      try {
        fs.writeFileSync(open, data);
        if (durable) fs.fsyncSync(open);
        filled = true;
      } catch (err) {
        throw fileError('cannot write', target, err);
      } finally {
        close();
      }
    },
    publish(overwrite, durable = true) {
      if (!filled) throw new Error(`reserveFile: ${target} published before it was filled`);
      publishFile(tmp, target, overwrite, durable);
    },
    discard() {
      close();
      fs.rmSync(tmp, { force: true });
    },
  };
}

/** Publishes a command's reserved outputs in order, noting each in published for discardReserved. */
export function publishReserved(reserved: ReservedFile[], overwrite: boolean, published: string[]): void {
  for (const r of reserved) {
    r.publish(overwrite);
    published.push(r.target);
  }
}

/**
 * Undoes a command's outputs after a failure: the temp files go, and so do the files it published
 * unless they replaced others, so it leaves all of its outputs or none.
 */
export function discardReserved(reserved: ReservedFile[], published: string[], overwrite: boolean): void {
  for (const r of reserved) r.discard();
  if (!overwrite) for (const p of published) fs.rmSync(p, { force: true });
}

/**
 * Moves a staged temp file into place. Without overwrite a hard link makes "create only if
 * absent" atomic; with it, rename replaces whatever is at target (a symlink itself, never
 * the file it points to).
 */
export function publishFile(tmp: string, target: string, overwrite: boolean, durable = true): void {
  try {
    if (overwrite) {
      fs.renameSync(tmp, target);
    } else {
      fs.linkSync(tmp, target);
      fs.unlinkSync(tmp);
    }
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new TctlError(`${target} already exists`, { hint: 'use --overwrite to replace it', cause: err });
    }
    throw fileError('cannot write', target, err);
  }
  if (durable) fsyncDir(path.dirname(target));
}

/** Temp file + fsync + rename (or link when not overwriting): readers see the old or new file, never half of one. */
export function writeFileAtomic(target: string, data: string | Buffer, opts: { mode: number; overwrite: boolean }): void {
  publishFile(stageFile(target, data, opts.mode), target, opts.overwrite);
}

/**
 * Appends one line durably. A process killed mid-append can leave a torn last line; start on
 * a fresh line so the torn one stays a single unreadable line instead of corrupting the next.
 */
export function appendLine(file: string, line: string): void {
  appendLines(file, [line]);
}

export function appendLines(file: string, lines: string[]): void {
  if (lines.length === 0) return;
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
    const size = fs.fstatSync(fd).size;
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      const rfd = fs.openSync(file, 'r');
      try {
        fs.readSync(rfd, last, 0, 1, size - 1);
      } finally {
        fs.closeSync(rfd);
      }
      if (last[0] !== 0x0a) prefix = '\n';
    }
    fs.writeSync(fd, prefix + lines.join('\n') + '\n');
    fs.fsyncSync(fd);
  } catch (err) {
    throw fileError('cannot append to', file, err);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Streams a file's lines synchronously in 64 KiB reads, so memory stays flat in the file's size;
 * a line longer than maxLine is refused rather than buffered.
 */
export function* readLinesSync(file: string, maxLine = 1024 * 1024): Generator<string> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw fileError('cannot read', file, err);
  }
  try {
    const buf = Buffer.alloc(64 * 1024);
    let rest = '';
    const decoder = new TextDecoder('utf-8');
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const parts = (rest + decoder.decode(buf.subarray(0, n), { stream: true })).split('\n');
      rest = parts.pop()!;
      if (rest.length > maxLine || parts.some((p) => p.length > maxLine)) {
        throw new TctlError(`${file} has a line longer than ${maxLine} bytes`);
      }
      yield* parts;
    }
    rest += decoder.decode();
    if (rest !== '') yield rest;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Whether something is at an output path we are about to write. A directory is never ours to
 * replace, so it is refused here; a symlink counts as existing (it is replaced, not followed).
 */
export function outputExists(target: string): boolean {
  let st: fs.Stats | undefined;
  try {
    // Without throwIfNoEntry every absent file costs an exception: a third of a batch's first pass.
    st = fs.lstatSync(target, { throwIfNoEntry: false });
  } catch (err) {
    throw fileError('cannot write', target, err);
  }
  if (st?.isDirectory()) throw new TctlError(`cannot write ${target}: it is a directory`, { hint: 'choose another output path' });
  return st !== undefined;
}
