// Rotation transitions as pure functions over one CA's record and the clock, for SSH and TLS
// key records alike (K is the record type). Creating a key
// file is the caller's job (passed in as newKey), and so is removing the private key files a
// transition stops naming (keyFilesDropped lists them), so these functions never touch the disk.
import { formatDuration } from '../ca/duration.js';
import type { DurationCap } from '../ca/duration.js';
import { TctlError } from '../errors.js';
import type { AuthorityOf, KeyRecordBase, Retired } from '../store/state.js';
import { PHASE_TABLE } from './phases.js';
import type { Phase } from './phases.js';

/** Teleport's default grace period. */
export const DEFAULT_GRACE_SECONDS = 30 * 3600;
/**
 * Longest --grace-period. Both keys are trusted for the whole grace period, so a longer one
 * is a second permanent CA rather than a rotation; a year covers fleets re-signed by hand.
 */
export const GRACE_CAP: DurationCap = { seconds: 8760 * 3600, text: '8760h (1 year)' };

/** Auto mode spends a third of the grace period in each phase, then completes. */
const AUTO_SCHEDULE: Phase[] = ['init', 'update_clients', 'update_servers'];

export function allowedNext(phase: Phase): Phase[] {
  return PHASE_TABLE[phase].next;
}

/**
 * A key that is no longer trusted keeps its public half (inventory, KRL sections, naming the
 * CA of old certificates) but not its private key file: nothing may sign with it again.
 */
export function retire<K extends KeyRecordBase>(key: K | Retired<K>): Retired<K> {
  const { file: _file, ...rest } = key;
  return rest as Retired<K>;
}

/**
 * Every transition also retires the private halves of keys retired by earlier releases, which
 * kept the file: a data dir from before this rule is cleaned at its next rotation step.
 */
function withRetired<K extends KeyRecordBase>(auth: AuthorityOf<K>, more: K[] = []): Retired<K>[] {
  return [...auth.retired, ...more].map((k) => retire<K>(k));
}

/**
 * Moves a CA to the given phase. standby -> init brings in a new key; update_servers ->
 * standby completes (new key becomes current, old retired); rollback -> standby drops the new key.
 */
export function moveToPhase<K extends KeyRecordBase>(auth: AuthorityOf<K>, to: Phase, ctx: { now: Date; newKey: () => K; mode: 'auto' | 'manual'; gracePeriodSeconds?: number }): AuthorityOf<K> {
  const from = auth.rotation.phase;
  if (!allowedNext(from).includes(to)) {
    const allowed = allowedNext(from).map((p) => `"${p}"`).join(' or ');
    throw new TctlError(`cannot move the rotation from "${from}" to "${to}"; from "${from}" the next phase is ${allowed}`);
  }
  const now = ctx.now.toISOString();
  const grace = ctx.gracePeriodSeconds;
  // Never record what the next load would refuse (state.ts checkRotation).
  if (grace !== undefined && !(Number.isSafeInteger(grace) && grace >= 0 && grace <= GRACE_CAP.seconds)) {
    throw new TctlError(`the grace period must be whole seconds up to ${GRACE_CAP.text}`);
  }
  if (to === 'init') {
    return {
      current: auth.current,
      next: ctx.newKey(),
      retired: withRetired(auth),
      rotation: { phase: 'init', mode: ctx.mode, startedAt: now, phaseSince: now, gracePeriodSeconds: ctx.gracePeriodSeconds },
    };
  }
  if (to === 'standby') {
    if (from === 'rollback') return { current: auth.current, retired: withRetired(auth, [auth.next!]), rotation: { phase: 'standby' } };
    return { current: auth.next!, retired: withRetired(auth, [auth.current]), rotation: { phase: 'standby' } };
  }
  // Spelled out rather than spread, so nothing but these fields (never a damaged marker) is carried on.
  const r = auth.rotation;
  return {
    current: auth.current,
    next: auth.next,
    retired: withRetired(auth),
    rotation: { phase: to, mode: ctx.mode, startedAt: r.startedAt, gracePeriodSeconds: r.gracePeriodSeconds, phaseSince: now },
  };
}

/** Completes a rotation at once (grace period 0): the old key is untrusted immediately. */
export function rotateNow<K extends KeyRecordBase>(auth: AuthorityOf<K>, ctx: { now: Date; newKey: () => K }): AuthorityOf<K> {
  if (auth.rotation.phase !== 'standby') {
    throw new TctlError(`a rotation is already in progress (phase "${auth.rotation.phase}")`, {
      hint: 'finish it with --manual --phase=... or roll it back with --manual --phase=rollback',
    });
  }
  return { current: ctx.newKey(), retired: withRetired(auth, [auth.current]), rotation: { phase: 'standby' } };
}

/**
 * The phases an operator may move a CA to while its stored schedule is damaged: only steps
 * that end a rotation, and from standby a rewrite of the rotation record (see state.ts).
 */
export function recoveryPhases(phase: Phase): Phase[] {
  if (phase === 'standby' || phase === 'rollback') return ['standby'];
  if (phase === 'update_servers') return ['rollback', 'standby'];
  return ['rollback'];
}

/** A standby CA whose stored rotation record was damaged, with the record rewritten clean. */
export function repairStandby<K extends KeyRecordBase>(auth: AuthorityOf<K>): AuthorityOf<K> {
  return { current: auth.current, retired: withRetired(auth), rotation: { phase: 'standby' } };
}

/** The private key files `before` names and `after` does not: the caller removes them once `after` is saved. */
export function keyFilesDropped<K extends KeyRecordBase>(before: AuthorityOf<K>, after: AuthorityOf<K>): Array<{ fingerprint: string; file: string }> {
  const named = (a: AuthorityOf<K>) =>
    [a.current, a.next, ...a.retired].flatMap((k) => (k && 'file' in k && typeof k.file === 'string' && k.file ? [{ fingerprint: (k as KeyRecordBase).fingerprint, file: k.file }] : []));
  const kept = new Set(named(after).map((k) => k.file));
  return named(before).filter((k) => !kept.has(k.file));
}

/** When an auto rotation enters each scheduled phase, and when it completes. */
export function autoSchedule(auth: { rotation: AuthorityOf<unknown>['rotation'] }): { phase: Phase; at: Date }[] {
  const r = auth.rotation;
  // A damaged record has no schedule: the clock must never act on a value nobody could read.
  if (r.damage || r.mode !== 'auto' || r.startedAt === undefined || r.gracePeriodSeconds === undefined) return [];
  const start = Date.parse(r.startedAt);
  const step = (r.gracePeriodSeconds * 1000) / AUTO_SCHEDULE.length;
  if (!Number.isFinite(start) || !Number.isFinite(step)) return [];
  return [...AUTO_SCHEDULE.map((phase, i) => ({ phase, at: new Date(start + i * step) })), { phase: 'standby' as Phase, at: new Date(start + r.gracePeriodSeconds * 1000) }];
}

/** One transition the clock made. */
export interface ScheduledStep<K extends KeyRecordBase = KeyRecordBase> {
  from: Phase;
  to: Phase;
  /** when the schedule said it was due */
  at: Date;
  /** the record once this step is made */
  after: AuthorityOf<K>;
}

/**
 * Applies every transition an auto rotation's schedule says is due by now, from whichever phase
 * the record is in, and lists them (the caller audits each). There is no daemon: every command
 * calls this, so the state is always what the clock says.
 */
export function scheduledAdvance<K extends KeyRecordBase>(auth: AuthorityOf<K>, now: Date): { auth: AuthorityOf<K>; steps: ScheduledStep<K>[] } {
  const schedule = autoSchedule(auth);
  // Only the steps after the phase the record is in: the ones before it are history.
  const here = schedule.findIndex((s) => s.phase === auth.rotation.phase);
  if (here < 0) return { auth, steps: [] };
  let cur = auth;
  const steps: ScheduledStep<K>[] = [];
  for (const step of schedule.slice(here + 1)) {
    if (step.at > now) break;
    const from = cur.rotation.phase;
    cur = moveToPhase(cur, step.phase, {
      now: step.at,
      mode: 'auto',
      newKey: () => {
        throw new Error('a scheduled step never creates a key');
      },
    });
    steps.push({ from, to: step.phase, at: step.at, after: cur });
  }
  return { auth: cur, steps };
}

/** The record after every due scheduled transition (the same object when none is due). */
export function advanceBySchedule<K extends KeyRecordBase>(auth: AuthorityOf<K>, now: Date): AuthorityOf<K> {
  return scheduledAdvance(auth, now).auth;
}

/** The next scheduled transition of an auto rotation, if any. */
export function nextDue(auth: { rotation: AuthorityOf<unknown>['rotation'] }, now: Date): { phase: Phase; at: Date } | undefined {
  const schedule = autoSchedule(auth);
  const here = schedule.findIndex((s) => s.phase === auth.rotation.phase);
  return schedule.slice(here + 1).find((s) => s.at > now);
}

/** A rotation as `tctl status` reports it (text and JSON), for SSH and TLS CAs alike. */
export function rotationStatus(auth: { rotation: AuthorityOf<unknown>['rotation'] }, now: Date) {
  const r = auth.rotation;
  const due = nextDue(auth, now);
  return {
    phase: r.phase,
    mode: r.phase === 'standby' ? null : (r.mode ?? 'manual'),
    startedAt: r.startedAt ?? null,
    gracePeriod: r.gracePeriodSeconds === undefined ? null : formatDuration(r.gracePeriodSeconds),
    nextPhase: due?.phase ?? null,
    nextPhaseAt: due?.at.toISOString() ?? null,
    todo: PHASE_TABLE[r.phase].todo,
    damaged: r.damage?.problems ?? null,
  };
}
