// A batch is read twice (check every line, then sign), but its source may be readable only once
// (a pipe, a FIFO, /dev/stdin, <(...)) or may change between the two reads. So it is copied once
// into a private spool and both passes read the spool: the lines signed are the lines checked.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TctlError } from '../errors.js';
import { fileError } from '../store/files.js';

/** Largest batch accepted: about seven million requests, far beyond any fleet we sign for. */
export const MAX_BATCH_BYTES = 1024 * 1024 * 1024;
/** Longest request line: a 16384-bit RSA key in base64 is about 2.8 KiB; the rest is names. */
export const MAX_LINE_BYTES = 1024 * 1024;
const READ_SIZE = 64 * 1024;
const TMPDIR_HINT = 'set TMPDIR to a writable directory with room for the batch';

export interface Spool {
  /** The batch's lines, from the first byte of the spool each time it is called. */
  lines(): Generator<string>;
  /** How many lines lines() gives, blank ones included. */
  readonly count: number;
  close(): void;
}

/**
 * Copies source ("-" for stdin, or a path of any kind) into an unlinked temp file only this
 * process holds open. name is how errors refer to the source.
 */
export async function spoolBatch(source: string, name: string, caps = { maxBytes: MAX_BATCH_BYTES, maxLine: MAX_LINE_BYTES }): Promise<Spool> {
  const spool = openSpool();
  let newlines = 0;
  let endsInNewline = true;
  try {
    const limits = lineLimits(name, caps);
    const append = (chunk: Buffer) => {
      limits.check(chunk);
      for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, nl + 1)) newlines++;
      if (chunk.length > 0) endsInNewline = chunk[chunk.length - 1] === 0x0a;
      try {
        for (let off = 0; off < chunk.length; ) off += fs.writeSync(spool, chunk, off);
      } catch (err) {
        throw new TctlError(fileError('cannot copy the batch to a temp file in', os.tmpdir(), err).message, {
          hint: TMPDIR_HINT,
        });
      }
    };
    if (source === '-') {
      for await (const chunk of process.stdin) append(chunk as Buffer);
    } else {
      await copyFrom(source, name, append);
    }
  } catch (err) {
    fs.closeSync(spool);
    throw err;
  }
  return { lines: () => readLines(spool), count: newlines + (endsInNewline ? 0 : 1), close: () => fs.closeSync(spool) };
}

/** The spool's name is removed at once: nobody can open it, and nothing is left if we are killed. */
function openSpool(): number {
  let dir: string | undefined;
  try {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tctl-batch-'));
    const { O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
    return fs.openSync(path.join(dir, 'batch.jsonl'), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  } catch (err) {
    throw new TctlError(fileError('cannot create a temp file for the batch in', os.tmpdir(), err).message, { hint: TMPDIR_HINT });
  } finally {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function copyFrom(source: string, name: string, append: (chunk: Buffer) => void): Promise<void> {
  let fh: fs.promises.FileHandle;
  try {
    // A FIFO blocks here until its writer opens it, as `cat fifo` would.
    fh = await fs.promises.open(source, 'r');
  } catch (err) {
    throw fileError('cannot read', name, err);
  }
  try {
    if ((await fh.stat()).isDirectory()) {
      throw new TctlError(`cannot read ${name}: it is a directory`, { hint: 'give --batch a file of JSON request lines, one per line, or - for stdin' });
    }
    const buf = Buffer.alloc(READ_SIZE);
    for (;;) {
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(buf, 0, buf.length, null));
      } catch (err) {
        throw fileError('cannot read', name, err);
      }
      if (n === 0) break;
      append(buf.subarray(0, n));
    }
  } finally {
    await fh.close();
  }
}

/** Enforces both caps while copying, so `--batch=/dev/zero` fails after 1 MiB, not after 1 GiB. */
function lineLimits(name: string, caps: { maxBytes: number; maxLine: number }): { check(chunk: Buffer): void } {
  let total = 0;
  let lineSoFar = 0;
  const tooLong = () => new TctlError(`${name} has a line longer than ${caps.maxLine} bytes`, { hint: 'each line is one JSON request' });
  return {
    check(chunk) {
      total += chunk.length;
      if (total > caps.maxBytes) {
        throw new TctlError(`${name} is larger than ${caps.maxBytes} bytes`, { hint: 'split the batch into several files' });
      }
      let start = 0;
      for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
        if (lineSoFar + nl - start > caps.maxLine) throw tooLong();
        lineSoFar = 0;
        start = nl + 1;
      }
      lineSoFar += chunk.length - start;
      if (lineSoFar > caps.maxLine) throw tooLong();
    },
  };
}

function* readLines(fd: number): Generator<string> {
  const buf = Buffer.alloc(READ_SIZE);
  const decoder = new TextDecoder('utf-8');
  let rest = '';
  for (let pos = 0; ; ) {
    const n = fs.readSync(fd, buf, 0, buf.length, pos);
    if (n === 0) break;
    pos += n;
    const parts = (rest + decoder.decode(buf.subarray(0, n), { stream: true })).split('\n');
    rest = parts.pop()!;
    yield* parts;
  }
  rest += decoder.decode();
  if (rest !== '') yield rest;
}
