// `tctl auth sign --batch=FILE --out-dir=DIR`: fleet signing. Two streaming passes over the file:
// the first checks every line (so a bad line fails the batch before anything is signed), the
// second signs under one lock with one CA-key load, writing certificates as it goes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { withSigningSession } from '../../ca/authority.js';
import type { IssuedCertificate } from '../../ca/authority.js';
import { parseBatchLine } from '../../ca/batch.js';
import { checkNotRevoked, revocationIndex } from '../../ca/revocation.js';
import type { Compat } from '../../ca/extensions.js';
import { TctlError, UsageError } from '../../errors.js';
import { certificateFileText } from '../../formats/certificate-file.js';
import { ensurePrivateDir, fsyncDir, outputExists, readLinesSync } from '../../store/files.js';
import { startFileWriter } from '../../store/writer-thread.js';
import { loadState } from '../../store/state.js';
import type { CaType } from '../../store/state.js';
import { resolveContext } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { stderr, stdout } from '../output.js';

export interface BatchOptions extends GlobalOptions {
  batch: string;
  outDir?: string;
  overwrite?: boolean;
  keepGoing?: boolean;
  compat: Compat;
}

/** Certificates are written and logged in chunks: memory stays flat, the log is always ahead of the files. */
const CHUNK = 1000;
const MAX_REPORTED = 20;

export async function authSignBatch(opts: BatchOptions): Promise<void> {
  if (opts.batch === '') throw new UsageError('--batch is empty');
  if (opts.outDir === undefined || opts.outDir === '') throw new UsageError('--batch needs --out-dir=DIR', 'e.g. tctl auth sign --batch=requests.jsonl --out-dir=certs');
  const { dataDir } = await resolveContext(opts);
  loadState(dataDir);
  const outDir = opts.outDir;
  ensurePrivateDir(outDir);

  const input = opts.batch === '-' ? await spoolStdin() : opts.batch;
  try {
    const bad = new Set<number>();
    let reported = 0;
    const report = (line: number, message: string) => {
      bad.add(line);
      if (reported++ < MAX_REPORTED) stderr(`tctl: error: ${opts.batch === '-' ? 'stdin' : opts.batch}:${line}: ${message}`);
    };

    // Pass 1: check everything, including where each certificate will go. In an empty output dir
    // only duplicates can collide (pass 2 still refuses to replace anything that appears meanwhile).
    const outDirEmpty = fs.readdirSync(outDir).length === 0;
    const revoked = revocationIndex(dataDir);
    const outputs = new Map<string, number>();
    const types = new Set<CaType>();
    let good = 0;
    let lineNo = 0;
    for (const line of readLinesSync(input)) {
      lineNo++;
      if (line.trim() === '') continue;
      try {
        const { request, out } = parseBatchLine(line, opts.compat);
        checkNotRevoked(revoked, request);
        const target = `${out}-cert.pub`;
        const seen = outputs.get(target);
        if (seen !== undefined) throw new UsageError(`output ${target} is also written by line ${seen}; give one of them an "out" name`);
        outputs.set(target, lineNo);
        if (!outDirEmpty && outputExists(path.join(outDir, target)) && !opts.overwrite) {
          throw new TctlError(`${path.join(outDir, target)} exists (use --overwrite to replace it)`);
        }
        types.add(request.type);
        good++;
      } catch (err) {
        if (!(err instanceof TctlError)) throw err;
        report(lineNo, err.message);
      }
    }
    outputs.clear();
    if (reported > MAX_REPORTED) stderr(`tctl: error: ... and ${reported - MAX_REPORTED} more bad lines`);
    if (bad.size > 0 && !opts.keepGoing) {
      throw new TctlError(`${bad.size} bad line${bad.size === 1 ? '' : 's'} in the batch; nothing was signed`, { hint: 'fix them, or use --keep-going to sign the good lines' });
    }
    if (good === 0) throw new TctlError(bad.size > 0 ? 'no valid requests in the batch; nothing was signed' : 'the batch has no requests');

    // Pass 2: sign under one lock.
    const started = Date.now();
    const progress = progressBar(good);
    const writer = startFileWriter();
    const range = withSigningSession(dataDir, { count: good, types: [...types] }, (session) => {
      let chunk: Array<{ issued: IssuedCertificate; out: string }> = [];
      let first: string | undefined;
      let last: string | undefined;
      const flushChunk = () => {
        // The log is appended before the files of this chunk are handed to the writer.
        session.flush();
        const files = chunk.map(({ issued, out }): [string, string] => [
          path.join(outDir, `${out}-cert.pub`),
          certificateFileText(issued.request.publicKey, issued.certificate, issued.request.keyId),
        ]);
        writer.write({ files, mode: 0o644, overwrite: Boolean(opts.overwrite) });
        chunk = [];
        progress(writer.written());
      };
      let n = 0;
      for (const line of readLinesSync(input)) {
        n++;
        if (line.trim() === '' || bad.has(n)) continue;
        let parsed;
        try {
          parsed = parseBatchLine(line, opts.compat);
        } catch {
          throw new TctlError(`line ${n} of the batch changed while signing`, { hint: 'do not edit the batch file while tctl reads it' });
        }
        const issued = session.sign(parsed.request);
        first ??= issued.record.serial;
        last = issued.record.serial;
        chunk.push({ issued, out: parsed.out });
        if (chunk.length === CHUNK) flushChunk();
      }
      flushChunk();
      return { first, last };
    });
    await writer.finish();
    const written = writer.written();
    fsyncDir(outDir);
    progress(written, true);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    stdout(`Signed ${written} certificate${written === 1 ? '' : 's'} into ${outDir} in ${seconds}s (serials ${range.first}-${range.last})`);
    if (bad.size > 0) throw new TctlError(`${bad.size} bad line${bad.size === 1 ? ' was' : 's were'} skipped (--keep-going)`);
  } finally {
    if (input !== opts.batch) fs.rmSync(path.dirname(input), { recursive: true, force: true });
  }
}

/** stdin is read once, but the batch needs two passes: keep it in a private temp file. */
async function spoolStdin(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tctl-batch-'));
  const file = path.join(dir, 'stdin.jsonl');
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    for await (const chunk of process.stdin) fs.writeSync(fd, chunk as Buffer);
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/** A one-line progress bar on a terminal; nothing off a terminal. */
function progressBar(total: number): (done: number, finished?: boolean) => void {
  if (!process.stderr.isTTY) return () => {};
  const width = 30;
  return (done, finished = false) => {
    const filled = Math.round((done / total) * width);
    process.stderr.write(`\rsigning [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`);
    if (finished) process.stderr.write('\n');
  };
}
