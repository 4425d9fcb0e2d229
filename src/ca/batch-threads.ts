// Threads for a large batch: they check request lines (pass 1) and sign them (pass 2) alongside
// the main thread. For signing they get the CA keys and the revocation list in memory from the
// signing session (SigningSession.handOff), so a passphrase-protected key is decrypted once and
// nothing is read again from where the CA keeps it. They sign with the serials the session
// reserved; the main thread, which alone holds the lock, adopts each chunk's records into the
// session and logs them before its files are handed out.
// The main thread runs synchronously under the lock, so it takes answers with
// receiveMessageOnPort and sleeps on shared memory (Atomics.wait), not in its event loop.
// This module is also the threads' entry point.
import type { KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, isMainThread, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { TctlError } from '../errors.js';
import { errorFromWire, errorToWire } from '../errors.js';
import type { ErrorOnWire } from '../errors.js';
import { certificateFileText } from '../formats/certificate-file.js';
import { toSshSigner } from '../keys/adapters.js';
import { inProcessSigner } from '../keys/signer.js';
import type { SshSigner } from '../ssh/keys.js';
import type { IssuanceRecord } from '../store/issuance.js';
import { RevocationIndex } from '../store/revocations.js';
import type { RevocationRecord } from '../store/revocations.js';
import type { CaKeyRecord, CaType } from '../store/state.js';
import type { SigningHandOff } from './authority.js';
import { parseBatchLine } from './batch.js';
import type { Compat } from './extensions.js';
import type { CertificateRequest } from './request.js';
import { noncePool, signRequest } from './sign-request.js';
import { checkNotRevoked } from './revocation.js';
import type { SigningContext } from './sign-request.js';

const ROLE = 'tctl-batch-thread';
// Int32 slots of each thread's control block. EVENTS changes whenever another slot changes or an
// answer is posted, so the main thread sleeps on it.
const EVENTS = 0;
const STARTED = 1;
const EXITED = 2;
/** Lines done so far: a thread that is busy is alive. */
const DONE = 3;
const SLOTS = 4;
/** A thread that has not started after this long is treated as one that never will. */
const START_TIMEOUT_MS = 10_000;
/** A thread with work that has done nothing for this long is treated as stuck. */
const STALL_TIMEOUT_MS = 60_000;

/** What pass 1 learns of a line: where its certificate goes, or why the line is refused. */
export type CheckedLine = { out: string; type: CaType; forceCommandDefaults: boolean } | { refused: string };

export interface SignedChunk {
  records: IssuanceRecord[];
  /** [path in the output dir, certificate file text] */
  files: Array<[string, string]>;
}

/** How lines are read: the same for every thread. */
export interface LineRules {
  compat: Compat;
  /** one clock for both passes, so a window that passed pass 1 cannot fail pass 2 */
  checkedAt: Date;
  outDir: string;
}

/** What a chunk is signed with: the session's hand-off, keys made signers. */
export interface ThreadSigningContext extends SigningContext {
  signers: Map<CaType, { record: CaKeyRecord; signer: SshSigner }>;
}

/** Pass 1 over a chunk: what `auth sign --batch` checks of each line on its own. */
export function checkChunk(lines: string[], rules: LineRules, revoked: RevocationIndex, progress: () => void = () => {}): CheckedLine[] {
  return lines.map((line) => {
    try {
      const { request, out, forceCommandDefaults } = parseBatchLine(line, rules.compat, rules.checkedAt);
      checkNotRevoked(revoked, request);
      return { out, type: request.type, forceCommandDefaults };
    } catch (err) {
      if (!(err instanceof TctlError)) throw err;
      return { refused: err.message };
    } finally {
      progress();
    }
  });
}

export function signingContext(handOff: Pick<SigningHandOff, 'clusterName' | 'now' | 'keys'>, revoked: RevocationIndex): ThreadSigningContext {
  const signers = new Map<CaType, { record: CaKeyRecord; signer: SshSigner }>();
  for (const [type, key] of Object.entries(handOff.keys) as Array<[CaType, { record: CaKeyRecord; privateKey: KeyObject }]>) {
    signers.set(type, { record: key.record, signer: toSshSigner(inProcessSigner(key.privateKey)) });
  }
  return { clusterName: handOff.clusterName, now: handOff.now, revoked, signers, nonce: noncePool() };
}

/** Where a batch line's certificate goes in the output dir, and the file's text. */
export function certificateFile(outDir: string, out: string, request: CertificateRequest, certificate: Buffer): [string, string] {
  return [path.join(outDir, `${out}-cert.pub`), certificateFileText(request.publicKey, certificate, request.keyId)];
}

/**
 * Pass 2 over a chunk, exactly as SigningSession.sign does it (authority.ts): the same checks,
 * body and record, so a certificate and its log line do not depend on which thread made them.
 */
export function signChunk(lines: string[], firstSerial: bigint, rules: LineRules, ctx: ThreadSigningContext, progress: () => void = () => {}): SignedChunk {
  const records: IssuanceRecord[] = [];
  const files: Array<[string, string]> = [];
  let serial = firstSerial;
  for (const line of lines) {
    // The spool is private and unchanged, so every line parses as it did in pass 1, whose check
    // of the key's values need not run again.
    const { request, out } = parseBatchLine(line, rules.compat, rules.checkedAt, false);
    const signer = ctx.signers.get(request.type);
    if (signer === undefined) throw new Error(`no ${request.type} CA key was handed over`);
    const { certificate, record } = signRequest(request, serial++, signer, ctx);
    records.push(record);
    files.push(certificateFile(rules.outDir, out, request, certificate));
    progress();
  }
  return { records, files };
}

/** A thread's setup for pass 2: SigningHandOff without adopt(), the revocations as records. */
interface Setup {
  clusterName: string;
  now: Date;
  revocations: RevocationRecord[];
  keys: SigningHandOff['keys'];
}

type Job = { setup: Setup } | { check: string[] } | { sign: string[]; firstSerial: bigint };
type Answer = { checked: CheckedLine[] } | { signed: SignedChunk } | { error: ErrorOnWire };

interface Start {
  role: string;
  rules: LineRules;
  /** pass 1's revocation list */
  revocations: RevocationRecord[];
  ctrl: Int32Array;
  port: MessagePort;
}

export interface BatchThreads {
  readonly size: number;
  /** Queues a pass-1 chunk on the next thread. */
  check(lines: string[]): void;
  /**
   * Waits for the threads to start and hands them the session's keys; false if a thread never
   * started (the threads are then closed and the caller signs alone).
   */
  begin(handOff: SigningHandOff): boolean;
  /** Queues a pass-2 chunk taking serials firstSerial, firstSerial + 1, ... */
  sign(lines: string[], firstSerial: bigint): void;
  /** The answer to the oldest job not yet taken, in submission order; blocks until it is there. */
  next(): CheckedLine[] | SignedChunk;
  close(): void;
}

/** A thread that failed (not a refusal of a request): the batch stops there. */
export class BatchThreadError extends Error {}

/**
 * Starts `count` threads (they load while the caller reads and checks), or returns undefined
 * when threads cannot be started here.
 */
export function startBatchThreads(count: number, rules: LineRules, revoked: RevocationIndex): BatchThreads | undefined {
  const members: Array<{ worker: Worker; port: MessagePort; ctrl: Int32Array }> = [];
  const close = () => {
    for (const m of members) {
      m.port.close();
      void m.worker.terminate();
    }
  };
  const revocations = revoked.records();
  const entry = new URL(import.meta.url);
  // A thread whose file is missing would only be seen to fail by the event loop, which the
  // signing session does not run: no threads then, the caller checks and signs alone.
  if (entry.protocol === 'file:' && !fs.existsSync(fileURLToPath(entry))) return undefined;
  try {
    for (let i = 0; i < count; i++) {
      const ctrl = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
      const { port1, port2 } = new MessageChannel();
      const start: Start = { role: ROLE, rules, revocations, ctrl, port: port2 };
      const worker = new Worker(entry, { workerData: start, transferList: [port2] });
      // The threads must never keep tctl running.
      worker.unref();
      port1.unref();
      members.push({ worker, port: port1, ctrl });
    }
  } catch {
    close();
    return undefined;
  }
  const startedAt = Date.now();
  let submitted = 0;
  const owners: number[] = [];
  const post = (job: Job) => {
    const i = submitted++ % members.length;
    members[i]!.port.postMessage(job);
    owners.push(i);
  };
  return {
    size: members.length,
    check: (lines) => post({ check: lines }),
    begin(handOff) {
      for (const m of members) {
        for (;;) {
          const seen = Atomics.load(m.ctrl, EVENTS);
          if (Atomics.load(m.ctrl, STARTED) !== 0) break;
          if (Atomics.load(m.ctrl, EXITED) !== 0 || Date.now() - startedAt > START_TIMEOUT_MS) {
            close();
            return false;
          }
          Atomics.wait(m.ctrl, EVENTS, seen, 100);
        }
      }
      const setup: Setup = { clusterName: handOff.clusterName, now: handOff.now, revocations: handOff.revoked.records(), keys: handOff.keys };
      for (const m of members) m.port.postMessage({ setup } satisfies Job);
      return true;
    },
    sign: (lines, firstSerial) => post({ sign: lines, firstSerial }),
    next() {
      const owner = owners.shift();
      if (owner === undefined) throw new Error('batch threads: no job is pending');
      const m = members[owner]!;
      let done = Atomics.load(m.ctrl, DONE);
      let lastProgress = Date.now();
      for (;;) {
        const seen = Atomics.load(m.ctrl, EVENTS);
        const got = receiveMessageOnPort(m.port) as { message: Answer } | undefined;
        if (got !== undefined) {
          const answer = got.message;
          if ('checked' in answer) return answer.checked;
          if ('signed' in answer) return answer.signed;
          // A refusal sign() would make here too (a key revoked since pass 1) reads the same.
          throw errorFromWire(answer.error, (message) => new BatchThreadError(message));
        }
        if (Atomics.load(m.ctrl, EXITED) !== 0) throw new BatchThreadError('it stopped');
        if (Atomics.load(m.ctrl, STARTED) === 0 && Date.now() - startedAt > START_TIMEOUT_MS) throw new BatchThreadError('it did not start');
        Atomics.wait(m.ctrl, EVENTS, seen, 1000);
        const now = Atomics.load(m.ctrl, DONE);
        if (now !== done) {
          done = now;
          lastProgress = Date.now();
        } else if (Date.now() - lastProgress > STALL_TIMEOUT_MS) {
          throw new BatchThreadError(`it did nothing for ${STALL_TIMEOUT_MS / 1000}s`);
        }
      }
    },
    close,
  };
}

function signal(ctrl: Int32Array, slot: number): void {
  Atomics.store(ctrl, slot, 1);
  Atomics.add(ctrl, EVENTS, 1);
  Atomics.notify(ctrl, EVENTS);
}

function serve(start: Start): void {
  const { ctrl, port, rules } = start;
  process.on('exit', () => signal(ctrl, EXITED));
  const checkIndex = new RevocationIndex(start.revocations);
  let ctx: ThreadSigningContext | undefined;
  const progress = () => {
    Atomics.add(ctrl, DONE, 1);
  };
  port.on('message', (job: Job) => {
    if ('setup' in job) {
      ctx = signingContext(job.setup, new RevocationIndex(job.setup.revocations));
      return;
    }
    let answer: Answer;
    try {
      if ('check' in job) answer = { checked: checkChunk(job.check, rules, checkIndex, progress) };
      else if (ctx === undefined) throw new Error('a chunk to sign came before the keys');
      else answer = { signed: signChunk(job.sign, job.firstSerial, rules, ctx, progress) };
    } catch (err) {
      answer = { error: errorToWire(err) };
    }
    port.postMessage(answer);
    Atomics.add(ctrl, EVENTS, 1);
    Atomics.notify(ctrl, EVENTS);
  });
  signal(ctrl, STARTED);
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === ROLE) serve(workerData as Start);
