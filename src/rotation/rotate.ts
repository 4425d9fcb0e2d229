// Rotation transitions as pure functions over one CA's record and the clock. Creating a key
// file is the caller's job (passed in as newKey), so these functions never touch the disk.
import { TctlError } from '../errors.js';
import type { AuthorityRecord, CaKeyRecord } from '../store/state.js';
import { PHASE_TABLE } from './phases.js';
import type { Phase } from './phases.js';

/** Teleport's default grace period. */
export const DEFAULT_GRACE_SECONDS = 30 * 3600;

/** Auto mode spends a third of the grace period in each phase, then completes. */
const AUTO_SCHEDULE: Phase[] = ['init', 'update_clients', 'update_servers'];

export function allowedNext(phase: Phase): Phase[] {
  return PHASE_TABLE[phase].next;
}

/**
 * Moves a CA to the given phase. standby -> init brings in a new key; update_servers ->
 * standby completes (new key becomes current, old retired); rollback -> standby drops the new key.
 */
export function moveToPhase(auth: AuthorityRecord, to: Phase, ctx: { now: Date; newKey: () => CaKeyRecord; mode: 'auto' | 'manual'; gracePeriodSeconds?: number }): AuthorityRecord {
  const from = auth.rotation.phase;
  if (!allowedNext(from).includes(to)) {
    const allowed = allowedNext(from).map((p) => `"${p}"`).join(' or ');
    throw new TctlError(`cannot move the rotation from "${from}" to "${to}"; from "${from}" the next phase is ${allowed}`);
  }
  const now = ctx.now.toISOString();
  if (to === 'init') {
    return {
      ...auth,
      next: ctx.newKey(),
      rotation: { phase: 'init', mode: ctx.mode, startedAt: now, phaseSince: now, gracePeriodSeconds: ctx.gracePeriodSeconds },
    };
  }
  if (to === 'standby') {
    if (from === 'rollback') {
      return { current: auth.current, retired: [...auth.retired, auth.next!], rotation: { phase: 'standby' } };
    }
    return { current: auth.next!, retired: [...auth.retired, auth.current], rotation: { phase: 'standby' } };
  }
  return { ...auth, rotation: { ...auth.rotation, phase: to, mode: ctx.mode, phaseSince: now } };
}

/** Completes a rotation at once (grace period 0): the old key is untrusted immediately. */
export function rotateNow(auth: AuthorityRecord, ctx: { now: Date; newKey: () => CaKeyRecord }): AuthorityRecord {
  if (auth.rotation.phase !== 'standby') {
    throw new TctlError(`a rotation is already in progress (phase "${auth.rotation.phase}")`, {
      hint: 'finish it with --manual --phase=... or roll it back with --manual --phase=rollback',
    });
  }
  return { current: ctx.newKey(), retired: [...auth.retired, auth.current], rotation: { phase: 'standby' } };
}

/** When an auto rotation enters each scheduled phase, and when it completes. */
export function autoSchedule(auth: AuthorityRecord): { phase: Phase; at: Date }[] {
  const r = auth.rotation;
  if (r.mode !== 'auto' || r.startedAt === undefined || r.gracePeriodSeconds === undefined) return [];
  const start = Date.parse(r.startedAt);
  const step = (r.gracePeriodSeconds * 1000) / AUTO_SCHEDULE.length;
  return [...AUTO_SCHEDULE.map((phase, i) => ({ phase, at: new Date(start + i * step) })), { phase: 'standby' as Phase, at: new Date(start + r.gracePeriodSeconds * 1000) }];
}

/**
 * Applies the transitions an auto rotation's schedule says are due by now. There is no daemon:
 * every command calls this, so the state is always what the clock says.
 */
export function advanceBySchedule(auth: AuthorityRecord, now: Date): AuthorityRecord {
  let cur = auth;
  for (const step of autoSchedule(auth)) {
    if (step.at > now) break;
    if (cur.rotation.phase === step.phase || step.phase === 'init') continue;
    if (!allowedNext(cur.rotation.phase).includes(step.phase)) break;
    const next = cur.next!;
    cur = moveToPhase(cur, step.phase, { now: step.at, mode: 'auto', newKey: () => next });
  }
  return cur;
}

/** The next scheduled transition of an auto rotation, if any. */
export function nextDue(auth: AuthorityRecord, now: Date): { phase: Phase; at: Date } | undefined {
  return autoSchedule(auth).find((s) => s.at > now);
}
