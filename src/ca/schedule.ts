// The CA's state as the clock says it is now: due auto-rotation steps are applied, saved,
// audited one entry per step, and the key files they retire removed. Every command goes through
// here, so it imports nothing of signing or revocation: `auth export` stays light.
import { TctlError } from '../errors.js';
import type { Phase } from '../rotation/phases.js';
import { keyFilesDropped, scheduledAdvance } from '../rotation/rotate.js';
import { CA_TYPES, TLS_ONLY_CAS, loadState, saveState } from '../store/state.js';
import type { AuthorityOf, CaType, KeyRecordBase, LoadOptions, State } from '../store/state.js';
import { TLS_CAS } from '../x509/types.js';
import type { TlsCa } from '../x509/types.js';
import { signingKeyRecord, trustedKeyRecords } from './ca-keys.js';
import type { CaStore } from '../store/ca-store.js';

export type Clock = () => Date;
export const systemClock: Clock = () => new Date();

/** A private key file a state change stopped naming, and whether it is gone now. */
export interface RemovedKeyFile {
  fingerprint: string;
  file: string;
  removed: boolean;
  error?: string;
}

/**
 * Saves `after`, then removes the private key files `before` named and `after` does not (keys
 * a rotation step retired). This order means a crash in between leaves an orphan file in keys/,
 * never a state.json naming a key file that is gone. unlink is all that is done: overwriting
 * first gives no guarantee on journalled or copy-on-write file systems and SSDs, and claiming
 * it did would be a log that says more than happened. Call under the lock.
 */
export function saveRetiring(store: CaStore, before: State, after: State): Removed {
  saveState(store, after);
  const out: Removed = { ssh: { user: [], host: [] }, tls: { host: [], user: [], db: [], db_client: [] } };
  const remove = (list: RemovedKeyFile[], dropped: Array<{ fingerprint: string; file: string }>) => {
    for (const k of dropped) {
      try {
        store.removeKey(k.file);
        list.push({ ...k, removed: true });
      } catch (err) {
        if (!(err instanceof TctlError)) throw err;
        list.push({ ...k, removed: false, error: err.message });
      }
    }
  };
  for (const t of CA_TYPES) remove(out.ssh[t], keyFilesDropped(before.authorities[t], after.authorities[t]));
  for (const t of TLS_CAS) {
    const b = before.tls?.[t];
    const a = after.tls?.[t];
    if (b && a) remove(out.tls[t], keyFilesDropped(b, a));
  }
  return out;
}

export interface Removed {
  ssh: Record<CaType, RemovedKeyFile[]>;
  tls: Record<TlsCa, RemovedKeyFile[]>;
}

/** What a rotation command or step names: an SSH CA (host and user carry their TLS CA along) or a TLS-only CA. */
export type RotatingCa = CaType | (typeof TLS_ONLY_CAS)[number];
export const ROTATING_CAS: readonly RotatingCa[] = [...CA_TYPES, ...TLS_ONLY_CAS];

export const isSshCa = (t: RotatingCa): t is CaType => (CA_TYPES as readonly string[]).includes(t);

/** The fingerprints a rotation audit entry names for one record, and the key files the step removed. */
function keysWhat<K extends KeyRecordBase>(a: AuthorityOf<K>, removed: RemovedKeyFile[] | undefined) {
  return {
    signer: signingKeyRecord(a).fingerprint,
    trusted: trustedKeyRecords(a).map((k) => k.fingerprint),
    ...(removed && removed.length > 0 ? { removedKeyFiles: removed } : {}),
  };
}

/**
 * The audit fields of a rotation step: the SSH keys (host, user) or the TLS keys (db, db_client);
 * a host or user CA's TLS keys go under "tls", so the SSH fields read as they always have.
 */
export function rotationWhat(state: State, t: RotatingCa, removed: Removed | undefined) {
  if (!isSshCa(t)) return keysWhat(state.tls![t]!, removed?.tls[t]);
  const tls = state.tls?.[t];
  return { ...keysWhat(state.authorities[t], removed?.ssh[t]), ...(tls ? { tls: keysWhat(tls, removed?.tls[t]) } : {}) };
}

type TypedStep = { type: RotatingCa; from: Phase; to: Phase; at: Date };

/**
 * Applies due auto-rotation transitions; saves them when any happened, removes the key files
 * they retired, and appends one audit entry per step (what the clock changed, from and to).
 * Call under the lock.
 */
export function observeSchedules(store: CaStore, state: State, now: Date): State {
  const { state: advanced, steps, afters } = advanceAll(state, now);
  if (steps.length === 0) return state;
  const removed = saveRetiring(store, state, advanced);
  for (const [i, s] of steps.entries()) {
    const lastOfType = !steps.slice(i + 1).some((o) => o.type === s.type);
    store.appendAudit({
      command: 'auth rotate',
      result: 'ok',
      what: {
        type: s.type,
        from: s.from,
        to: s.to,
        mode: 'auto',
        by: 'schedule',
        dueAt: s.at.toISOString(),
        ...rotationWhat(afters[i]!, s.type, lastOfType ? removed : undefined),
      },
    });
  }
  return advanced;
}

/**
 * Every due step of every CA. host and user TLS records share their SSH CA's rotation fields,
 * so the same schedule gives them the same steps at the same times: one step moves both.
 */
function advanceAll(state: State, now: Date): { state: State; steps: TypedStep[]; afters: State[] } {
  const steps: TypedStep[] = [];
  const afters: State[] = [];
  let cur = state;
  for (const t of ROTATING_CAS) {
    if (isSshCa(t)) {
      const a = scheduledAdvance(state.authorities[t], now);
      const tlsRecord = state.tls?.[t];
      const tlsSteps = tlsRecord ? scheduledAdvance(tlsRecord, now).steps : [];
      a.steps.forEach((s, i) => {
        cur = { ...cur, authorities: { ...cur.authorities, [t]: s.after } };
        const ts = tlsSteps[i];
        if (ts) cur = { ...cur, tls: { ...cur.tls, [t]: ts.after } };
        steps.push({ type: t, from: s.from, to: s.to, at: s.at });
        afters.push(cur);
      });
    } else {
      const record = state.tls?.[t];
      if (!record) continue;
      for (const s of scheduledAdvance(record, now).steps) {
        cur = { ...cur, tls: { ...cur.tls, [t]: s.after } };
        steps.push({ type: t, from: s.from, to: s.to, at: s.at });
        afters.push(cur);
      }
    }
  }
  return { state: cur, steps, afters };
}

/**
 * The state as the clock says it is now. Read-only commands call this; a due auto-rotation
 * step is persisted (and audited) when the store is writable, and is computed the same way
 * when it is not.
 */
export function loadCurrentState(store: CaStore, clock: Clock = systemClock, opts: LoadOptions = {}): State {
  const state = loadState(store, opts);
  const now = clock();
  if (advanceAll(state, now).steps.length === 0) return state;
  try {
    return store.withLock(() => observeSchedules(store, loadState(store, opts), now));
  } catch (err) {
    if (err instanceof TctlError && /permission denied|read-only/.test(err.message)) return advanceAll(state, now).state;
    throw err;
  }
}

