// `tctl auth sign --batch=FILE --out-dir=DIR`: fleet signing. The input is copied once into a
// private spool, then two streaming passes read the spool: the first checks every line (so a bad
// line fails the batch before anything is signed or created), the second signs under one lock
// with one CA-key load (on signing threads for a large batch, batch-sign.ts), writing
// certificates as it goes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withSigningSession } from '../../ca/authority.js';
import { startBatchThreads } from '../../ca/batch-threads.js';
import type { BatchThreads } from '../../ca/batch-threads.js';
import { revocationIndex } from '../../ca/revocation.js';
import { DROPPED_BY_FORCE_COMMAND } from '../../ca/extensions.js';
import type { Compat } from '../../ca/extensions.js';
import { TctlError, UsageError } from '../../errors.js';
import { ensurePrivateDir, fileError, fsyncDir, outputExists, reserveFile } from '../../store/files.js';
import { startFileWriter } from '../../store/writer-thread.js';
import { loadState } from '../../store/state.js';
import type { CaType } from '../../store/state.js';
import { batchThreads, checkBatch, signBatch } from '../batch-sign.js';
import type { Pass2, Span } from '../batch-sign.js';
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

const MAX_REPORTED = 20;

export async function authSignBatch(opts: BatchOptions): Promise<void> {
  if (opts.batch === '') throw new UsageError('--batch is empty');
  if (opts.outDir === undefined || opts.outDir === '') throw new UsageError('--batch needs --out-dir=DIR', 'e.g. tctl auth sign --batch=requests.jsonl --out-dir=certs');
  const { store } = await resolveContext(opts);
  loadState(store);
  const outDir = opts.outDir;
  const outDirExists = existingDir(outDir);
  const name = opts.batch === '-' ? 'stdin' : opts.batch;
  // One clock for both passes, so a window that passed pass 1 cannot fail pass 2 mid-signing.
  const checkedAt = new Date();

  // Read once, whatever the input is (file, pipe, FIFO, /dev/stdin): both passes read this copy.
  const spool = await spoolBatch(opts.batch, name);
  let threads: BatchThreads | undefined;
  try {
    const bad = new Set<number>();
    let reported = 0;
    const report = (line: number, message: string) => {
      bad.add(line);
      if (reported++ < MAX_REPORTED) stderr(`tctl: error: ${name}:${line}: ${message}`);
    };

    // Pass 1: check everything, including where each certificate will go. In an empty output dir
    // only duplicates can collide (pass 2 still refuses to replace anything that appears meanwhile).
    // A large batch is checked and signed on threads too; they load while this thread starts checking.
    const outDirEmpty = !outDirExists || fs.readdirSync(outDir).length === 0;
    const revoked = revocationIndex(store);
    const rules = { compat: opts.compat, checkedAt, outDir };
    const count = batchThreads(spool.count);
    threads = count > 0 ? startBatchThreads(count, rules, revoked) : undefined;
    const outputs = new Map<string, number>();
    const types = new Set<CaType>();
    let good = 0;
    let restricted = 0;
    checkBatch(spool.lines(), rules, revoked, threads, (lineNo, checked) => {
      try {
        if ('refused' in checked) throw new TctlError(checked.refused);
        const target = `${checked.out}-cert.pub`;
        const seen = outputs.get(target);
        if (seen !== undefined) throw new UsageError(`output ${target} is also written by line ${seen}; give one of them an "out" name`);
        outputs.set(target, lineNo);
        if (!outDirEmpty && outputExists(path.join(outDir, target)) && !opts.overwrite) {
          throw new TctlError(`${path.join(outDir, target)} exists (use --overwrite to replace it)`);
        }
        types.add(checked.type);
        good++;
        if (checked.forceCommandDefaults) restricted++;
      } catch (err) {
        if (!(err instanceof TctlError)) throw err;
        report(lineNo, err.message);
      }
    });
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
    const pass: Pass2 = {
      lines: spool.lines(),
      bad,
      rules,
      overwrite: Boolean(opts.overwrite),
      writer,
      delivered(chunk) {
        if (json && chunk.length > 0) {
          json(
            chunk
              .map((c, i) => {
                const { serial, type, keyId, principals, validAfter, validBefore, caFingerprint } = c.record;
                const entry = { line: c.line, serial, type, keyId, principals, validAfter, validBefore, caFingerprint, file: c.file };
                return `${entries + i === 0 ? '' : ','}\n    ${JSON.stringify(entry)}`;
              })
              .join(''),
          );
          entries += chunk.length;
        }
        progress(writer.written());
      },
    };
    const range = withSigningSession(store, { count: good, types: [...types] }, (session) => {
      let span: Span;
      try {
        span = signBatch(session, pass, threads);
      } catch (err) {
        // What was logged is on disk before the error is reported (and audited): no certificate
        // is left half-written.
        try {
          writer.finish();
        } catch {
          // the first error is the one to report
        }
        throw err;
      }
      if (span.signed !== good) throw new Error(`batch: pass 2 signed ${span.signed} of the ${good} requests pass 1 checked`);
      // Still inside the session: a file that cannot be written makes the audit entry an error.
      writer.finish();
      return span;
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
    threads?.close();
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
