// Audit lines as bytes, for the data dir store: the chain covers bytes, so lines are never
// decoded on the way in or out (a line that is not valid UTF-8 must still be reported, or
// copied, as it is).
import * as fs from 'node:fs';
import type { AuditLineBytes } from '../audit.js';
import { lineBytes } from '../audit.js';
import { fileError } from '../files.js';
import { TctlError } from '../../errors.js';

/** A file's lines (without newlines) in 64 KiB reads; a line past the cap ends it with 'too long'. Missing file: no lines. */
export function* readLineBytes(file: string): Generator<AuditLineBytes> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw fileError('cannot read', file, err);
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw new TctlError(`${file} is not a regular file`, { hint: 'restore the CA from a backup' });
    yield* lineBytes(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Appends lines verbatim and durably, starting on a fresh line after a torn one (as files.ts appendLines). */
export function appendLineBytes(file: string, lines: readonly Buffer[]): void {
  if (lines.length === 0) return;
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
    const size = fs.fstatSync(fd).size;
    const parts: Buffer[] = [];
    if (size > 0) {
      const last = Buffer.alloc(1);
      fs.readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) parts.push(Buffer.from('\n'));
    }
    for (const line of lines) {
      if (line.includes(0x0a)) throw new Error('appendLineBytes: a line holds a newline');
      parts.push(line, Buffer.from('\n'));
    }
    fs.writeSync(fd, Buffer.concat(parts));
    fs.fsyncSync(fd);
  } catch (err) {
    throw fileError('cannot append to', file, err);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
