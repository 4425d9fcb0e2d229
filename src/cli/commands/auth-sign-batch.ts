// `tctl auth sign --batch=FILE --out-dir=DIR`: fleet signing. The input is copied once into a
// private spool, then two streaming passes read the spool: the first checks every line (so a bad
// line fails the batch before anything is signed or created), the second signs under one lock
// with one CA-key load, writing certificates as it goes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withSigningSession } from '../../ca/authority.js';
import type { IssuedCertificate } from '../../ca/authority.js';
import { parseBatchLine } from '../../ca/batch.js';
import { checkNotRevoked, revocationIndex } from '../../ca/revocation.js';
import { DROPPED_BY_FORCE_COMMAND } from '../../ca/extensions.js';
import type { Compat } from '../../ca/extensions.js';
import { TctlError, UsageError } from '../../errors.js';
import { certificateFileText } from '../../formats/certificate-file.js';
import { ensurePrivateDir, fileError, fsyncDir, outputExists, reserveFile } from '../../store/files.js';
import { startFileWriter } from '../../store/writer-thread.js';
import { loadState } from '../../store/state.js';
import type { CaType } from '../../store/state.js';
import { spoolBatch } from '../batch-spool.js';
import { resolveContext } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { isTerminal, stderr, stderrBytes, stdout, stdoutBytes } from '../output.js';

export interface BatchOptions extends GlobalOptions {
  batch: string;
  outDir?: string;
  overwrite?: boolean;
  keepGoing?: boolean;
  json?: boolean;
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
  const outDirExists = existingDir(outDir);
  const name = opts.batch === '-' ? 'stdin' : opts.batch;
  // One clock for both passes, so a window that passed pass 1 cannot fail pass 2 mid-signing.
  const checkedAt = new Date();

  // Read once, whatever the input is (file, pipe, FIFO, /dev/stdin): both passes read this copy.
  const spool = await spoolBatch(opts.batch, name);
  try {
    const bad = new Set<number>();
    let reported = 0;
    const report = (line: number, message: string) => {
      bad.add(line);
      if (reported++ < MAX_REPORTED) stderr(`tctl: error: ${name}:${line}: ${message}`);
    };

    // Pass 1: check everything, including where each certificate will go. In an empty output dir
    // only duplicates can collide (pass 2 still refuses to replace anything that appears meanwhile).
    const outDirEmpty = !outDirExists || fs.readdirSync(outDir).length === 0;
    const revoked = revocationIndex(dataDir);
    const outputs = new Map<string, number>();
    const types = new Set<CaType>();
    let good = 0;
    let restricted = 0;
    let lineNo = 0;
    for (const line of spool.lines()) {
      lineNo++;
      if (line.trim() === '') continue;
      try {
        const { request, out, forceCommandDefaults } = parseBatchLine(line, opts.compat, checkedAt);
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
        if (forceCommandDefaults) restricted++;
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
    // Nothing to sign is a failure, not an empty success: a script that fed tctl the wrong file
    // (or an empty pipe) hears about it, and no serial or "ok" audit entry is spent on nothing.
    if (good === 0) {
      throw new TctlError(bad.size > 0 ? 'no valid requests in the batch; nothing was signed' : `the batch has no requests (${name} is empty or has only blank lines); nothing was signed`);
    }

    // The batch is good: only now is the output dir created, and shown to take new files,
    // before any serial is reserved.
    ensurePrivateDir(outDir);
    probeWritable(outDir);

    // Pass 2: sign under one lock.
    const started = Date.now();
    const progress = progressBar(good);
    const writer = startFileWriter();
    // --json streams the certificates as they are logged, so memory stays flat for any batch size;
    // the document is closed with the totals once every file is written.
    let entries = 0;
    const json = opts.json ? stdoutBytes : undefined;
    json?.(`{\n  "outDir": ${JSON.stringify(outDir)},\n  "certificates": [`);
    const range = withSigningSession(dataDir, { count: good, types: [...types] }, (session) => {
      let chunk: Array<{ issued: IssuedCertificate; out: string; line: number }> = [];
      let first: string | undefined;
      let last: string | undefined;
      let signed = 0;
      const flushChunk = () => {
        // The log is appended before the files of this chunk are handed to the writer.
        session.flush();
        const files = chunk.map(({ issued, out }): [string, string] => [
          path.join(outDir, `${out}-cert.pub`),
          certificateFileText(issued.request.publicKey, issued.certificate, issued.request.keyId),
        ]);
        writer.write({ files, mode: 0o644, overwrite: Boolean(opts.overwrite) });
        if (json && chunk.length > 0) {
          const r = (c: (typeof chunk)[number]) => c.issued.record;
          json(
            chunk
              .map((c, i) => {
                const { serial, type, keyId, principals, validAfter, validBefore, caFingerprint } = r(c);
                const entry = { line: c.line, serial, type, keyId, principals, validAfter, validBefore, caFingerprint, file: files[i]![0] };
                return `${entries + i === 0 ? '' : ','}\n    ${JSON.stringify(entry)}`;
              })
              .join(''),
          );
          entries += chunk.length;
        }
        chunk = [];
        progress(writer.written());
      };
      let n = 0;
      for (const line of spool.lines()) {
        n++;
        if (line.trim() === '' || bad.has(n)) continue;
        // The spool is private and unchanged, so every line parses as it did in pass 1, and its
        // key's value check (~20 µs for ed25519, as much as the signature) need not run again.
        const parsed = parseBatchLine(line, opts.compat, checkedAt, false);
        const issued = session.sign(parsed.request);
        signed++;
        first ??= issued.record.serial;
        last = issued.record.serial;
        chunk.push({ issued, out: parsed.out, line: n });
        if (chunk.length === CHUNK) flushChunk();
      }
      flushChunk();
      if (signed !== good) throw new Error(`batch: pass 2 signed ${signed} of the ${good} requests pass 1 checked`);
      // Still inside the session: a file that cannot be written makes the audit entry an error.
      writer.finish();
      return { first, last };
    });
    const written = writer.written();
    fsyncDir(outDir);
    progress(written, true);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const summary = `Signed ${written} certificate${written === 1 ? '' : 's'} into ${outDir} in ${seconds}s (serials ${range.first}-${range.last})`;
    if (json) {
      json(`\n  ],\n  "count": ${written},\n  "firstSerial": ${JSON.stringify(range.first)},\n  "lastSerial": ${JSON.stringify(range.last)},\n  "skippedLines": ${JSON.stringify([...bad].sort((a, b) => a - b))}\n}\n`);
      stderr(summary);
    } else {
      stdout(summary);
    }
    if (restricted > 0) {
      stderr(
        `tctl: note: ${restricted} force_command request${restricted === 1 ? '' : 's'} without "permit" got no ${DROPPED_BY_FORCE_COMMAND.join(', ')} ` +
          '(ssh -N -L would open a tunnel without running the command); add "permit": [...] to a line to allow them',
      );
    }
    if (bad.size > 0) throw new TctlError(`${bad.size} bad line${bad.size === 1 ? ' was' : 's were'} skipped (--keep-going)`);
  } finally {
    spool.close();
  }
}

/** Whether dir exists (as a directory); anything else at that path is refused before the batch is read. */
function existingDir(dir: string): boolean {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir, { throwIfNoEntry: false });
  } catch (err) {
    throw fileError('cannot use --out-dir', dir, err);
  }
  if (st !== undefined && !st.isDirectory()) throw new TctlError(`cannot use --out-dir ${dir}: it is not a directory`);
  return st !== undefined;
}

/** Creates and removes a temp file in dir: a dir that takes no new files fails before serials are reserved. */
function probeWritable(dir: string): void {
  try {
    reserveFile(path.join(dir, 'tctl-probe'), 0o600).discard();
  } catch (err) {
    throw fileError('cannot write to --out-dir', dir, err instanceof TctlError ? err.cause : err);
  }
}

/** A one-line progress bar on a terminal; nothing off a terminal. */
function progressBar(total: number): (done: number, finished?: boolean) => void {
  if (!isTerminal(2)) return () => {};
  const width = 30;
  return (done, finished = false) => {
    const filled = Math.round((done / total) * width);
    stderrBytes(`\rsigning [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`);
    if (finished) stderrBytes('\n');
  };
}
