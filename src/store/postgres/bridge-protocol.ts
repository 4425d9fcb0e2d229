// What the main thread and the PostgreSQL thread of the bridge (bridge.ts, bridge-thread.ts) say
// to each other: one call at a time, each answer naming the call it answers.
import type { ErrorOnWire } from '../../errors.js';

export const ROLE = 'tctl-postgres-bridge';
/** Longer than anything the thread waits for itself (the 30 s lock wait, the connect timeout, a large insert). */
export const REPLY_WAIT_MS = 120_000;
export const PAGE = 1000;

export type ReadMethod = 'isInitialised' | 'readState' | 'readRevocations' | 'getKey' | 'listKeys' | 'lastSerial';
export type TxMethod =
  | 'saveState'
  | 'putKey'
  | 'removeKey'
  | 'reserveSerials'
  | 'appendIssuance'
  | 'addRevocations'
  | 'appendAudit'
  | 'checkpoint'
  | 'auditFailure';

export type Call =
  | { op: 'open' }
  | { op: 'read'; method: ReadMethod; args: unknown[] }
  | { op: 'begin' }
  | { op: 'tx'; method: TxMethod; args: unknown[] }
  | { op: 'end'; commit: boolean }
  | { op: 'iter-open'; what: 'issuance' | 'audit' }
  | { op: 'iter-next'; id: number }
  | { op: 'iter-close'; id: number }
  | { op: 'close' };

export type Reply = { call: number } & ({ value: unknown } | { error: ErrorOnWire });

/** Buffers cross the port as plain Uint8Arrays; turn them back (pg and the audit code want Buffers). */
export function buffers(v: unknown): unknown {
  if (v instanceof Uint8Array && !Buffer.isBuffer(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(buffers);
  return v;
}
