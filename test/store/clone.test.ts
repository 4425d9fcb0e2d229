// cloneStore both ways between a real data dir (made by the tctl CLI) and PostgreSQL: the copy
// holds the same bytes and its audit chain verifies; a non-empty target is refused, and a clone
// that fails leaves a PostgreSQL target empty.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TctlError } from '../../src/errors.js';
import { verifyAuditLines } from '../../src/store/audit.js';
import { cloneStore } from '../../src/store/clone.js';
import { openStore } from '../../src/store/open.js';
import type { StoreLocation } from '../../src/store/select.js';
import type { Postgres } from '../helpers/postgres.js';
import { postgresSkip, startPostgres } from '../helpers/postgres.js';
import { initialisedCa, openssh, tctl, tempDir } from '../helpers/run.js';
import { freshDataDir, freshLocation } from '../helpers/stores.js';

const FILES = ['state.json', 'serial', 'issued.jsonl', 'revoked.jsonl', 'audit.jsonl'];

async function clone(from: StoreLocation, to: StoreLocation) {
  const a = await openStore(from);
  const b = await openStore(to, { create: true });
  try {
    return await cloneStore(a, b);
  } finally {
    await a.close();
    await b.close();
  }
}

function keyFiles(dataDir: string): Record<string, string> {
  const dir = path.join(dataDir, 'keys');
  return Object.fromEntries(fs.readdirSync(dir).filter((n) => !n.startsWith('.')).sort().map((n) => [n, fs.readFileSync(path.join(dir, n), 'utf8')]));
}

describe('backend clone', { skip: postgresSkip() }, () => {
  let pg: Postgres;
  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    await pg?.stop();
  });

  test('data dir -> PostgreSQL -> PostgreSQL -> data dir: every file byte for byte, and tctl audit verify passes on the copy', async () => {
    const ca = initialisedCa();
    const keyDir = tempDir();
    for (const name of ['alice', 'bob']) {
      assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(keyDir, name)]).status, 0);
      const r = ca.run(['auth', 'sign', `--user=${name}`, `--public-key=${path.join(keyDir, `${name}.pub`)}`, `--out=${path.join(keyDir, name)}`]);
      assert.equal(r.status, 0, r.stderr);
    }
    assert.equal(ca.run(['auth', 'revoke', '--key-id=bob']).status, 0);
    assert.equal(ca.run(['auth', 'rotate', '--type=host', '--grace-period=0s']).status, 0);
    const src: StoreLocation = { kind: 'dir', dataDir: ca.dataDir, source: '--data-dir' };
    const viaPg = freshLocation('postgresql', pg);
    const viaPg2 = freshLocation('postgresql', pg);
    const back: StoreLocation = { kind: 'dir', dataDir: freshDataDir(), source: '--data-dir' };

    const s1 = await clone(src, viaPg);
    assert.equal(s1.issuance, 2);
    assert.equal(s1.revocations, 1);
    assert.equal(s1.lastSerial, 2n);
    const s2 = await clone(viaPg, viaPg2);
    const s3 = await clone(viaPg2, back);
    assert.deepEqual(s2, s1);
    assert.deepEqual(s3, s1);

    const pgStore = await openStore(viaPg2);
    assert.deepEqual((await verifyAuditLines(pgStore.readAuditLines())).ok, true);
    await pgStore.close();
    for (const f of FILES) assert.deepEqual(fs.readFileSync(path.join(back.dataDir, f)), fs.readFileSync(path.join(ca.dataDir, f)), f);
    assert.deepEqual(keyFiles(back.dataDir), keyFiles(ca.dataDir));
    const verify = tctl(['audit', 'verify'], { cwd: ca.cwd, env: { TCTL_DATA_DIR: back.dataDir } });
    assert.equal(verify.status, 0, verify.stderr);
    assert.match(verify.stdout, /hash chain intact/);
    // The copy is a working CA: it signs the next serial.
    const carol = path.join(keyDir, 'carol');
    openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', carol]);
    const sign = tctl(['auth', 'sign', '--user=carol', `--public-key=${carol}.pub`, `--out=${carol}`], { cwd: ca.cwd, env: { TCTL_DATA_DIR: back.dataDir } });
    assert.equal(sign.status, 0, sign.stderr);
    assert.match(openssh('ssh-keygen', ['-L', '-f', `${carol}-cert.pub`]).stdout, /Serial: 3\n/);
  });

  test('dir -> dir works, and a target that is not empty is refused, whatever it holds', async () => {
    const ca = initialisedCa();
    const src: StoreLocation = { kind: 'dir', dataDir: ca.dataDir, source: '--data-dir' };
    const copy: StoreLocation = { kind: 'dir', dataDir: freshDataDir(), source: '--data-dir' };
    await clone(src, copy);
    assert.deepEqual(fs.readFileSync(path.join(copy.dataDir, 'audit.jsonl')), fs.readFileSync(path.join(ca.dataDir, 'audit.jsonl')));
    await assert.rejects(clone(src, copy), /is not empty: it holds a CA/);
    await assert.rejects(clone(src, src), /into itself/);
    const seeds: Array<[string, (tx: import('../../src/store/backend.js').StoreTx) => Promise<unknown>, RegExp]> = [
      ['key', (tx) => tx.putKey('keys/x.pem', 'P', { overwrite: false }), /holds keys/],
      ['serial', (tx) => tx.reserveSerials(1), /serial counter/],
      ['audit', (tx) => tx.appendAudit({ command: 'x', what: {}, result: 'ok' }), /audit log/],
      ['revocation', (tx) => tx.addRevocations([{ kind: 'key', keySha256: 'a', keyFingerprint: 'b', revokedAt: 'c' }]), /revocations/],
    ];
    for (const kind of ['dir', 'postgresql'] as const) {
      for (const [what, seed, re] of seeds) {
        const target = freshLocation(kind, pg);
        const t = await openStore(target, { create: true });
        await t.withLock(async (tx) => void (await seed(tx)));
        await t.close();
        await assert.rejects(clone(src, target), (err: unknown) => err instanceof TctlError && re.test(err.message), `${kind} ${what}`);
      }
    }
  });

  test('a clone that fails half way leaves a PostgreSQL target empty', async () => {
    const ca = initialisedCa();
    // A damaged source: its last audit line is past the cap, found only after keys and records were copied.
    fs.appendFileSync(path.join(ca.dataDir, 'audit.jsonl'), 'x'.repeat(1024 * 1024 + 10));
    const target = freshLocation('postgresql', pg);
    await assert.rejects(clone({ kind: 'dir', dataDir: ca.dataDir, source: '--data-dir' }, target), /line too long to copy/);
    const t = await openStore(target);
    assert.equal(await t.isInitialised(), false);
    assert.deepEqual(await t.listKeys(), []);
    assert.equal(await t.lastSerial(), 0n);
    await t.close();
  });
});
