// Writes certificate files on a second thread while the main thread signs: in a batch the file
// system calls cost about as much as the signature, and these machines have a core to spare.
// The signing loop is synchronous (it runs under the data dir lock), so the worker reports
// progress through shared memory rather than events. This module is also the worker's entry point.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { TctlError } from '../errors.js';
import { publishFile, stageFile } from './files.js';

const ROLE = 'tctl-file-writer';
// Int32 slots of the control block. EVENTS changes whenever another slot does, so the main
// thread can sleep on it (Atomics.wait) instead of running its event loop.
const CHUNKS_DONE = 0;
const FILES_DONE = 1;
const FAILED = 2;
const STARTED = 3;
const EXITED = 4;
const EVENTS = 5;
/** Set by the main thread when it takes over the writing: the thread stops before its next file. */
const CANCELLED = 6;
const SLOTS = 7;
const ERROR_BYTES = 4096;
/** A thread that has not started after this long is treated as one that never will. */
const START_TIMEOUT_MS = 10_000;

interface Chunk {
  files: Array<[target: string, content: string]>;
  mode: number;
  overwrite: boolean;
}

export interface FileWriter {
  /** Queues files; they are written in order, each atomically (temp file + link or rename). */
  write(chunk: Chunk): void;
  /** How many files are on disk so far. */
  written(): number;
  /**
   * Blocks until everything queued is written; throws the first write error. Synchronous, so a
   * caller holding the data dir lock can wait for its files inside the audited signing session.
   */
  finish(): void;
}

/** A writer on its own thread, or on this one when a thread cannot be started. */
export function startFileWriter(): FileWriter {
  const ctrl = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
  const error = new Uint8Array(new SharedArrayBuffer(ERROR_BYTES));
  let worker: Worker;
  try {
    worker = new Worker(new URL(import.meta.url), { workerData: { role: ROLE, ctrl, error } });
  } catch {
    return inlineWriter();
  }
  // The thread must never keep tctl running: it is done with once finish() returns.
  worker.unref();
  const startedAt = Date.now();
  // Chunks are kept until the thread has written them, so a thread that dies loses nothing.
  const unwritten: Chunk[] = [];
  let acknowledged = 0;
  let posted = 0;
  const dropWritten = () => {
    for (const done = Atomics.load(ctrl, CHUNKS_DONE); acknowledged < done; acknowledged++) unwritten.shift();
  };
  const failure = () => {
    if (Atomics.load(ctrl, FAILED) === 0) return undefined;
    const end = error.indexOf(0);
    return new TctlError(Buffer.from(error.subarray(0, end < 0 ? ERROR_BYTES : end)).toString('utf8'));
  };
  const gone = () => Atomics.load(ctrl, EXITED) === 1 || (Atomics.load(ctrl, STARTED) === 0 && Date.now() - startedAt > START_TIMEOUT_MS);
  return {
    write(chunk) {
      const f = failure();
      if (f) throw f;
      dropWritten();
      unwritten.push(chunk);
      worker.postMessage(chunk);
      posted++;
    },
    written: () => Atomics.load(ctrl, FILES_DONE),
    finish() {
      try {
        for (;;) {
          const seen = Atomics.load(ctrl, EVENTS);
          if (Atomics.load(ctrl, CHUNKS_DONE) >= posted || Atomics.load(ctrl, FAILED) !== 0 || gone()) break;
          Atomics.wait(ctrl, EVENTS, seen, 100);
        }
        const f = failure();
        if (f) throw f;
        dropWritten();
        if (unwritten.length > 0) Atomics.store(ctrl, CANCELLED, 1);
        // The thread died (it never started, or crashed): write what it did not, here. A chunk it
        // was in the middle of may be partly on disk, and those files are ours to replace.
        for (const chunk of unwritten) {
          const n = writeChunk({ ...chunk, overwrite: true });
          Atomics.add(ctrl, FILES_DONE, n);
        }
        unwritten.length = 0;
      } finally {
        void worker.terminate();
      }
    },
  };
}

function writeChunk(chunk: Chunk): number {
  for (const [target, content] of chunk.files) {
    // Bulk public output: not fsynced file by file; the issuance log, written first, is durable.
    publishFile(stageFile(target, content, chunk.mode, false), target, chunk.overwrite, false);
  }
  return chunk.files.length;
}

function inlineWriter(): FileWriter {
  let n = 0;
  return {
    write(chunk) {
      n += writeChunk(chunk);
    },
    written: () => n,
    finish: () => {},
  };
}

function signal(ctrl: Int32Array, slot: number, add: number): void {
  Atomics.add(ctrl, slot, add);
  Atomics.add(ctrl, EVENTS, 1);
  Atomics.notify(ctrl, EVENTS);
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === ROLE) {
  const { ctrl, error } = workerData as { ctrl: Int32Array; error: Uint8Array };
  process.on('exit', () => signal(ctrl, EXITED, 1));
  parentPort!.on('message', (chunk: Chunk) => {
    if (Atomics.load(ctrl, FAILED) === 0) {
      try {
        for (const file of chunk.files) {
          if (Atomics.load(ctrl, CANCELLED) !== 0) break;
          writeChunk({ ...chunk, files: [file] });
          Atomics.add(ctrl, FILES_DONE, 1);
        }
      } catch (err) {
        const message = Buffer.from((err as Error).message, 'utf8').subarray(0, ERROR_BYTES - 1);
        error.set(message);
        Atomics.store(ctrl, FAILED, 1);
      }
    }
    signal(ctrl, CHUNKS_DONE, 1);
  });
  signal(ctrl, STARTED, 1);
}
