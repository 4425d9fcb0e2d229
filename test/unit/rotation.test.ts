import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signingKeyRecord, trustedKeyRecords } from '../../src/ca/authority.js';
import { PHASES, PHASE_TABLE } from '../../src/rotation/phases.js';
import type { Phase } from '../../src/rotation/phases.js';
import { advanceBySchedule, keyFilesDropped, moveToPhase, nextDue, recoveryPhases, rotateNow, scheduledAdvance } from '../../src/rotation/rotate.js';
import type { AuthorityRecord, CaKeyRecord } from '../../src/store/state.js';

const key = (name: string): CaKeyRecord => ({ keyType: 'ed25519', publicKey: name, fingerprint: `SHA256:${name}`, file: `keys/${name}.pem`, createdAt: '2026-01-01T00:00:00Z' });
const OLD = key('old');
const NEW = key('new');
const standby: AuthorityRecord = { current: OLD, retired: [], rotation: { phase: 'standby' } };
const t0 = new Date('2026-11-25T00:00:00Z');
const at = (h: number) => new Date(t0.getTime() + h * 3600_000);
const manual = (a: AuthorityRecord, to: Phase) => moveToPhase(a, to, { now: t0, newKey: () => NEW, mode: 'manual' });
const fps = (keys: Array<{ fingerprint: string }>) => keys.map((k) => k.fingerprint.slice(7));

test('the phase table: who signs and who is trusted', () => {
  const init = manual(standby, 'init');
  assert.equal(signingKeyRecord(init), OLD);
  assert.deepEqual(fps(trustedKeyRecords(init)), ['old', 'new']);
  const clients = manual(init, 'update_clients');
  assert.equal(signingKeyRecord(clients), NEW);
  assert.deepEqual(fps(trustedKeyRecords(clients)), ['new', 'old']);
  const servers = manual(clients, 'update_servers');
  assert.equal(signingKeyRecord(servers), NEW);
  assert.deepEqual(fps(trustedKeyRecords(servers)), ['new', 'old']);
  const done = manual(servers, 'standby');
  assert.equal(signingKeyRecord(done), NEW);
  assert.deepEqual(fps(trustedKeyRecords(done)), ['new']);
  assert.deepEqual(fps(done.retired), ['old']);
});

test('rollback restores the old key as signer, then as the only trusted key', () => {
  for (const from of ['init', 'update_clients', 'update_servers'] as Phase[]) {
    let a = manual(standby, 'init');
    if (from !== 'init') a = manual(a, 'update_clients');
    if (from === 'update_servers') a = manual(a, 'update_servers');
    const rb = manual(a, 'rollback');
    assert.equal(signingKeyRecord(rb), OLD, from);
    assert.deepEqual(fps(trustedKeyRecords(rb)), ['old', 'new']);
    const done = manual(rb, 'standby');
    assert.equal(signingKeyRecord(done), OLD);
    assert.deepEqual(fps(trustedKeyRecords(done)), ['old']);
    assert.deepEqual(fps(done.retired), ['new']);
  }
});

test('every transition not in the table fails, naming the allowed next phases', () => {
  const states: Record<Phase, AuthorityRecord> = {
    standby,
    init: manual(standby, 'init'),
    update_clients: manual(manual(standby, 'init'), 'update_clients'),
    update_servers: manual(manual(manual(standby, 'init'), 'update_clients'), 'update_servers'),
    rollback: manual(manual(standby, 'init'), 'rollback'),
  };
  let refused = 0;
  for (const from of PHASES) {
    for (const to of PHASES) {
      const snapshot = JSON.stringify(states[from]);
      if (PHASE_TABLE[from].next.includes(to)) {
        assert.doesNotThrow(() => manual(states[from], to));
      } else {
        refused++;
        assert.throws(() => manual(states[from], to), (e: Error) => e.message.includes(`from "${from}" the next phase is`) && PHASE_TABLE[from].next.every((n) => e.message.includes(`"${n}"`)));
      }
      assert.equal(JSON.stringify(states[from]), snapshot, 'inputs are never mutated');
    }
  }
  assert.equal(refused, 25 - 8);
});

test('auto mode advances by thirds of the grace period with an injected clock', () => {
  const started = moveToPhase(standby, 'init', { now: t0, newKey: () => NEW, mode: 'auto', gracePeriodSeconds: 30 * 3600 });
  assert.equal(advanceBySchedule(started, at(9.99)), started, 'nothing due yet: same object');
  assert.deepEqual(nextDue(started, at(1)), { phase: 'update_clients', at: at(10) });
  const p10 = advanceBySchedule(started, at(10));
  assert.equal(p10.rotation.phase, 'update_clients');
  assert.equal(p10.rotation.phaseSince, at(10).toISOString());
  assert.equal(signingKeyRecord(p10), NEW);
  assert.equal(advanceBySchedule(started, at(20)).rotation.phase, 'update_servers');
  assert.equal(advanceBySchedule(p10, at(25)).rotation.phase, 'update_servers');
  const done = advanceBySchedule(started, at(31));
  assert.equal(done.rotation.phase, 'standby');
  assert.deepEqual(fps(trustedKeyRecords(done)), ['new']);
  assert.equal(nextDue(done, at(31)), undefined);
  // A manual step takes the rotation off the clock.
  const rb = moveToPhase(p10, 'rollback', { now: at(11), newKey: () => NEW, mode: 'manual' });
  assert.equal(advanceBySchedule(rb, at(100)), rb);
});

test('grace period 0 completes at once; a second rotation cannot start mid-rotation', () => {
  const done = rotateNow(standby, { now: t0, newKey: () => NEW });
  assert.deepEqual(fps(trustedKeyRecords(done)), ['new']);
  assert.equal(signingKeyRecord(done), NEW);
  assert.throws(() => rotateNow(manual(standby, 'init'), { now: t0, newKey: () => NEW }), /already in progress/);
});

const autoAt = (phase: Phase): AuthorityRecord => {
  let a = moveToPhase(standby, 'init', { now: t0, newKey: () => NEW, mode: 'auto', gracePeriodSeconds: 30 * 3600 });
  for (const p of ['update_clients', 'update_servers'] as Phase[]) {
    if (a.rotation.phase === phase) break;
    a = moveToPhase(a, p, { now: at(p === 'update_clients' ? 10 : 20), newKey: () => NEW, mode: 'auto' });
  }
  return a;
};

test('the clock carries a rotation through every due phase, whichever phase it first sees', () => {
  const order: Phase[] = ['init', 'update_clients', 'update_servers', 'standby'];
  const dueAt: Record<string, number> = { update_clients: 10, update_servers: 20, standby: 30 };
  for (const first of ['init', 'update_clients', 'update_servers'] as Phase[]) {
    const rec = autoAt(first);
    assert.equal(rec.rotation.phase, first);
    // Every observation time from the phase's own start to past the end of the grace period.
    for (let h = 0; h <= 40; h += 0.5) {
      const { auth, steps } = scheduledAdvance(rec, at(h));
      const expected = order.slice(order.indexOf(first) + 1).filter((p) => dueAt[p]! <= h);
      assert.deepEqual(steps.map((s) => s.to), expected, `first seen in ${first} at +${h}h`);
      assert.equal(auth.rotation.phase, expected.at(-1) ?? first);
      let from = first;
      for (const s of steps) {
        assert.equal(s.from, from);
        assert.equal(s.at.getTime(), at(dueAt[s.to]!).getTime(), 'each step is dated when it was due');
        from = s.to;
      }
      if (auth.rotation.phase === 'standby') {
        assert.equal(signingKeyRecord(auth), NEW);
        assert.deepEqual(fps(auth.retired), ['old']);
        assert.equal('file' in auth.retired[0]!, false, 'the retired key names no private key file');
        assert.deepEqual(keyFilesDropped(rec, auth), [{ fingerprint: OLD.fingerprint, file: OLD.file }]);
      } else {
        assert.deepEqual(keyFilesDropped(rec, auth), []);
      }
    }
  }
});

test('retired keys keep their public half only; older records lose their file at the next step', () => {
  const legacy: AuthorityRecord = { ...standby, retired: [key('ancient')] };
  const init = manual(legacy, 'init');
  assert.deepEqual(init.retired, [{ keyType: 'ed25519', publicKey: 'ancient', fingerprint: 'SHA256:ancient', createdAt: '2026-01-01T00:00:00Z' }]);
  assert.deepEqual(keyFilesDropped(legacy, init), [{ fingerprint: 'SHA256:ancient', file: 'keys/ancient.pem' }]);
  const rolledBack = manual(manual(init, 'rollback'), 'standby');
  assert.deepEqual(keyFilesDropped(init, rolledBack), [{ fingerprint: NEW.fingerprint, file: NEW.file }], 'the rolled-back key file goes');
  assert.equal(signingKeyRecord(rolledBack).file, OLD.file, 'the key that stays keeps its file');
  const now = rotateNow(legacy, { now: t0, newKey: () => NEW });
  assert.deepEqual(keyFilesDropped(legacy, now).map((k) => k.file).sort(), ['keys/ancient.pem', 'keys/old.pem']);
});

test('a damaged schedule never advances; recovery steps end the rotation', () => {
  const damagedInit = { ...autoAt('init'), rotation: { ...autoAt('init').rotation, damage: { problems: ['x'], stored: {} } } };
  assert.equal(advanceBySchedule(damagedInit, at(1000)), damagedInit);
  assert.equal(nextDue(damagedInit, at(0)), undefined);
  assert.deepEqual(recoveryPhases('init'), ['rollback']);
  assert.deepEqual(recoveryPhases('update_clients'), ['rollback']);
  assert.deepEqual(recoveryPhases('update_servers'), ['rollback', 'standby']);
  assert.deepEqual(recoveryPhases('rollback'), ['standby']);
  const rb = manual(damagedInit, 'rollback');
  assert.equal(rb.rotation.damage, undefined, 'the recovered record is clean');
  assert.equal(signingKeyRecord(rb), OLD);
});
