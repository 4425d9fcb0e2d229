// The clock's rotation steps on a real data dir, with an injected clock: saved, audited, complete.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadCurrentState, rotateAuthority } from '../../src/ca/authority.js';
import { initAuthority } from '../../src/ca/init.js';
import type { Phase } from '../../src/rotation/phases.js';
import { AUDIT_LOG, verifyChain } from '../../src/store/audit.js';
import { loadState } from '../../src/store/state.js';
import { tempDir } from '../helpers/run.js';
import { DirCaStore } from '../../src/store/local/dir-ca-store.js';

const t0 = new Date('2026-11-25T00:00:00Z');
const at = (h: number) => () => new Date(t0.getTime() + h * 3600_000);

interface AuditEntry {
  command: string;
  result: string;
  what: { type?: string; from?: Phase; to?: Phase; by?: string; dueAt?: string; removedKeyFiles?: Array<{ file: string; removed: boolean }> };
}
const audit = (dataDir: string): AuditEntry[] =>
  fs.readFileSync(path.join(dataDir, AUDIT_LOG), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditEntry);
const scheduled = (dataDir: string) => audit(dataDir).filter((e) => e.what.by === 'schedule');

function rotatingCa() {
  const dataDir = path.join(tempDir(), 'ca');
  initAuthority(new DirCaStore(dataDir, { create: true }), { clusterName: 'example.com', keyType: 'ed25519', now: t0 });
  rotateAuthority(new DirCaStore(dataDir), 'user', { kind: 'auto', gracePeriodSeconds: 30 * 3600 }, at(0));
  const s = loadState(new DirCaStore(dataDir));
  return { dataDir, oldKey: s.authorities.user.current, newKey: s.authorities.user.next! };
}

test('each phase as the first one observed: every due step is made, saved and audited once', () => {
  // [hours of the first observation, hours of the second]: the second starts in init, update_clients or update_servers.
  const plans: Array<[number | undefined, number]> = [[undefined, 31], [15, 31], [25, 31], [15, 25], [undefined, 25], [undefined, 12]];
  const phaseAt = (h: number): Phase => (h >= 30 ? 'standby' : h >= 20 ? 'update_servers' : h >= 10 ? 'update_clients' : 'init');
  const order: Phase[] = ['init', 'update_clients', 'update_servers', 'standby'];
  for (const [first, second] of plans) {
    const { dataDir, oldKey, newKey } = rotatingCa();
    const expected: Array<[Phase, Phase]> = [];
    const expect = (from: Phase, to: Phase) => order.slice(order.indexOf(from) + 1, order.indexOf(to) + 1).forEach((p, i, all) => expected.push([i === 0 ? from : all[i - 1]!, p]));
    let seen: Phase = 'init';
    for (const h of first === undefined ? [second] : [first, second]) {
      const state = loadCurrentState(new DirCaStore(dataDir), at(h));
      assert.equal(state.authorities.user.rotation.phase, phaseAt(h), `observed at +${h}h`);
      assert.equal(loadState(new DirCaStore(dataDir)).authorities.user.rotation.phase, phaseAt(h), 'and saved');
      expect(seen, phaseAt(h));
      seen = phaseAt(h);
    }
    const steps = scheduled(dataDir);
    const label = `plan ${String(first)} -> ${second}`;
    assert.deepEqual(steps.map((e) => [e.what.from, e.what.to]), expected, label);
    for (const e of steps) {
      assert.equal(e.command, 'auth rotate');
      assert.equal(e.result, 'ok');
      assert.equal(e.what.type, 'user');
      assert.equal(e.what.dueAt, at({ update_clients: 10, update_servers: 20, standby: 30 }[e.what.to as string]!)().toISOString());
    }
    assert.ok(verifyChain(new DirCaStore(dataDir).auditLines()).ok, label);
    // Observing again changes nothing and logs nothing.
    const lines = audit(dataDir).length;
    loadCurrentState(new DirCaStore(dataDir), at(second));
    assert.equal(audit(dataDir).length, lines);
    const keyFile = path.join(dataDir, oldKey.file!);
    if (seen === 'standby') {
      const done = loadState(new DirCaStore(dataDir)).authorities.user;
      assert.equal(done.current.fingerprint, newKey.fingerprint);
      assert.deepEqual(done.retired, [{ keyType: oldKey.keyType, publicKey: oldKey.publicKey, fingerprint: oldKey.fingerprint, createdAt: oldKey.createdAt }]);
      assert.equal(fs.existsSync(keyFile), false, 'the retired private key file is removed');
      assert.deepEqual(steps.at(-1)!.what.removedKeyFiles, [{ fingerprint: oldKey.fingerprint, file: oldKey.file, removed: true }]);
      assert.ok(fs.existsSync(path.join(dataDir, newKey.file!)));
    } else {
      assert.ok(fs.existsSync(keyFile), 'no key file goes before the rotation ends');
      assert.ok(steps.every((e) => e.what.removedKeyFiles === undefined));
    }
  }
});

test('a command that rotates by hand first records the steps the clock made', () => {
  const { dataDir } = rotatingCa();
  rotateAuthority(new DirCaStore(dataDir), 'user', { kind: 'manual', phase: 'rollback' }, at(25));
  const entries = audit(dataDir).filter((e) => e.command === 'auth rotate').slice(1);
  assert.deepEqual(entries.map((e) => [e.what.from, e.what.to, e.what.by]), [
    ['init', 'update_clients', 'schedule'],
    ['update_clients', 'update_servers', 'schedule'],
    ['update_servers', 'rollback', 'operator'],
  ]);
  assert.ok(verifyChain(new DirCaStore(dataDir).auditLines()).ok);
});
