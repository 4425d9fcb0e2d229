// The KRL's fast reading of revoked.jsonl (scanRevocations) against the plain one
// (readRevocations, JSON.parse per line): on generated files that mix the lines `auth revoke`
// writes with every near miss, both must give the same KRL, byte for byte.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { buildKrl } from '../../src/ca/revocation.js';
import { scanRevocations } from '../../src/store/revocation-scan.js';
import { REVOCATIONS_FILE, readRevocations } from '../../src/store/revocations.js';
import type { RevocationRecord } from '../../src/store/revocations.js';
import { loadState } from '../../src/store/state.js';
import type { State } from '../../src/store/state.js';
import { initialisedCa, tempDir } from '../helpers/run.js';
import { TestRandom } from './krl-helpers.js';
import { DirCaStore } from '../../src/store/local/dir-ca-store.js';

const NOW = new Date('2026-01-02T03:04:05.000Z');

function krlOrError(state: State, read: () => Parameters<typeof buildKrl>[1]): Buffer | string {
  try {
    return buildKrl(state, read(), NOW);
  } catch (e) {
    return `${(e as Error).constructor.name}: ${(e as Error).message}`;
  }
}

/** Serial revocations as "fingerprint serial" strings, from either reading. */
function serialsOf(records: RevocationRecord[], scanned?: Map<string, BigUint64Array>): string[] {
  const out: string[] = [];
  for (const [fp, list] of scanned ?? []) for (const s of list) out.push(`${fp} ${s}`);
  for (const r of records) {
    if (r.kind !== 'serial') continue;
    let serial: string;
    try {
      serial = BigInt(r.serial).toString();
    } catch {
      serial = `raw:${String(r.serial)}`;
    }
    out.push(`${String(r.caFingerprint)} ${serial}`);
  }
  return out.sort();
}

describe('scanRevocations reads revoked.jsonl as readRevocations does', () => {
  let state: State;
  let fingerprints: string[];
  let root: string;
  let dirs = 0;
  const newDir = () => path.join(root, `ca${++dirs}`);
  before(() => {
    root = tempDir();
    const { dataDir } = initialisedCa();
    state = loadState(new DirCaStore(dataDir));
    fingerprints = [state.authorities.user.current.fingerprint, state.authorities.host.current.fingerprint, 'SHA256:notACaKeyOfThisDataDir'];
  });

  function canonical(fp: string, serial: string, at = NOW.toISOString()): string {
    return JSON.stringify({ kind: 'serial', serial, caFingerprint: fp, revokedAt: at });
  }

  /** A line `auth revoke` could have written, or a near miss of one. */
  function line(rnd: TestRandom): string {
    const fp = rnd.pick(fingerprints);
    const serial = String(rnd.int(1, 5000));
    const at = new Date(NOW.getTime() - rnd.int(0, 1e9)).toISOString();
    const plain = canonical(fp, serial, at);
    switch (rnd.int(0, 24)) {
      case 0:
        return JSON.stringify({ kind: 'serial', serial, caFingerprint: fp, revokedAt: at, reason: rnd.pick(['lost', 'a "quoted" \\ reason', 'ünïcode 🔑', '\n\t']) });
      case 1:
        return canonical(fp, `00${serial}`, at); // leading zeros
      case 2:
        return canonical(fp, rnd.pick(['9007199254740993', '18446744073709551615', '1234567890123456']), at);
      case 3:
        return JSON.stringify({ kind: 'key-id', keyId: rnd.pick(['joe', 'web1.example.com', 'ü']), caType: rnd.pick(['user', 'host', undefined, 'bogus']), revokedAt: at });
      case 4:
        return JSON.stringify({ kind: 'key', keySha256: Buffer.alloc(32, rnd.int(0, 255)).toString('base64'), keyFingerprint: 'SHA256:x', revokedAt: at });
      case 5:
        return JSON.stringify({ kind: 'x509-serial', serial: 'abcdef0123456789', ca: 'db-client', caFingerprint: 'sha256:00', revokedAt: at });
      case 6:
        return plain.slice(0, rnd.int(0, plain.length - 1)); // a torn append
      case 7:
        return `x${plain}`;
      case 8:
        return ` ${plain}\r`;
      case 9:
        return JSON.stringify({ serial, kind: 'serial', caFingerprint: fp, revokedAt: at });
      case 10:
        return plain.replace(`"serial":"${serial}"`, `"serial":"${serial}","serial":"${Number(serial) + 1}"`);
      case 11:
        return plain.replace(fp, fp.replace(/\//g, '\\/').replace('S', '\\u0053'));
      case 12:
        return plain.replace('Z"', 'Zé"');
      case 13:
        return plain.replace('"}', '","extra":1}');
      case 14:
        return rnd.pick(['', '   ', 'null', '5', '[]', '{}']);
      case 15:
        return canonical(fp, rnd.pick(['', '-5', '1e3', ' 7', '12abc']), at);
      default:
        return plain;
    }
  }

  function writeFile(dir: string, lines: string[], opts: { bom?: boolean; finalNewline?: boolean } = {}): void {
    fs.mkdirSync(dir, { recursive: true });
    const text = (opts.bom ? '\ufeff' : '') + lines.join('\n') + (opts.finalNewline === false ? '' : '\n');
    fs.writeFileSync(path.join(dir, REVOCATIONS_FILE), text);
  }

  function assertSame(dir: string): void {
    const plain = readRevocations(dir);
    const scanned = scanRevocations(dir);
    assert.equal(scanned.serialCount + scanned.records.length, plain.length);
    assert.deepEqual(serialsOf(scanned.records, scanned.serials), serialsOf(plain));
    assert.deepEqual(krlOrError(state, () => scanned), krlOrError(state, () => plain));
  }

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    test(`property round ${seed}: the same KRL from both readings`, () => {
      const rnd = new TestRandom(seed);
      const dir = newDir();
      // Long runs of one CA key as well as interleaved keys.
      const lines: string[] = [];
      for (let block = rnd.int(1, 30); block > 0; block--) {
        if (rnd.float() < 0.5) {
          const fp = rnd.pick(fingerprints);
          for (let i = rnd.int(1, 400); i > 0; i--) lines.push(canonical(fp, String(rnd.int(1, 100_000))));
        } else {
          for (let i = rnd.int(1, 60); i > 0; i--) lines.push(line(rnd));
        }
      }
      writeFile(dir, lines, { bom: seed % 3 === 0, finalNewline: seed % 2 === 0 });
      assertSame(dir);
    });
  }

  test('a file larger than one read, lines across its boundaries', () => {
    const rnd = new TestRandom(99);
    const dir = newDir();
    const lines = Array.from({ length: 80_000 }, (_, i) => (i % 997 === 0 ? line(rnd) : canonical(rnd.pick(fingerprints), String(i + 1))));
    writeFile(dir, lines);
    assert.ok(fs.statSync(path.join(dir, REVOCATIONS_FILE)).size > 2 * 4 * 1024 * 1024);
    assertSame(dir);
  });

  test('serial 0 is refused by both, and a missing file is no revocations', () => {
    const dir = newDir();
    writeFile(dir, [canonical(fingerprints[1]!, '7'), canonical(fingerprints[1]!, '0')]);
    assert.match(String(krlOrError(state, () => scanRevocations(dir))), /serial 0 cannot be revoked/);
    assertSame(dir);
    const empty = newDir();
    fs.mkdirSync(empty);
    assert.deepEqual(scanRevocations(empty), { serials: new Map(), serialCount: 0, records: [] });
  });

  test('a line over 1 MiB is refused by both', () => {
    const dir = newDir();
    writeFile(dir, [canonical(fingerprints[0]!, '1'), 'a'.repeat(1024 * 1024 + 1), canonical(fingerprints[0]!, '2')]);
    assert.throws(() => readRevocations(dir), /has a line longer than 1048576 bytes/);
    assert.throws(() => scanRevocations(dir), /has a line longer than 1048576 bytes/);
  });
});
