// KRL encoding and decoding: round trips, OpenSSH's load-time checks, and a property test that
// asks the real ssh-keygen (-Q and -Q -l) to agree with random revocation sets.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeKrl, encodeKrl, type KrlInput } from '../../src/ssh/krl.js';
import { SshWriter } from '../../src/ssh/wire.js';
import {
  type CertRequest,
  type TestKey,
  U64_MAX,
  certSubsectionTypes,
  checkWithSshKeygen,
  dumpWithSshKeygen,
  fingerprint,
  makeTempDir,
  newEd25519Key,
  removeTempDir,
  runLines,
  serialRuns,
  signCertificates,
  sortBigints,
  sshKeygen,
  TestRandom,
} from './krl-helpers.js';

const LIST = 0x20;
const RANGE = 0x21;
const BITMAP = 0x22;
const KEY_ID = 0x23;

// A made-up but well-formed ed25519 public key blob, for tests that never reach ssh-keygen.
const FAKE_CA = new SshWriter().string('ssh-ed25519').string(Buffer.alloc(32, 7)).toBuffer();

function emptyKrl(): KrlInput {
  return { version: 0n, generatedAt: 0n, comment: '', certificates: [], revokedKeySha256: [] };
}

function withSerials(serials: bigint[]): KrlInput {
  return { ...emptyKrl(), certificates: [{ caKey: FAKE_CA, serials, keyIds: [] }] };
}

function range(lo: bigint, hi: bigint, step = 1n): bigint[] {
  const out: bigint[] = [];
  for (let s = lo; s <= hi; s += step) out.push(s);
  return out;
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

describe('encodeKrl / decodeKrl', () => {
  test('round-trips every field, normalising serials, key ids, hashes and CAs', () => {
    const otherCa = new SshWriter().string('ssh-ed25519').string(Buffer.alloc(32, 9)).toBuffer();
    const input: KrlInput = {
      version: U64_MAX,
      generatedAt: 1_700_000_000n,
      comment: 'fleet KRL — ünïcode',
      certificates: [
        { caKey: FAKE_CA, serials: [9n, 3n, 4n, 5n, 3n, U64_MAX], keyIds: ['zed', 'alice'] },
        { caKey: null, serials: [], keyIds: ['any-ca'] },
        { caKey: otherCa, serials: [], keyIds: [] }, // nothing revoked: no section
        { caKey: Buffer.from(FAKE_CA), serials: [2n], keyIds: ['alice', '🔑', 'ａ'] },
      ],
      revokedKeySha256: [sha256('b'), sha256('a'), sha256('b')],
    };
    const decoded = decodeKrl(encodeKrl(input));
    assert.deepEqual(decoded, {
      version: U64_MAX,
      generatedAt: 1_700_000_000n,
      comment: 'fleet KRL — ünïcode',
      certificates: [
        // strcmp order, as OpenSSH keeps them: U+FF41 (EF BD 81) sorts before U+1F511 (F0 ...)
        { caKey: FAKE_CA, serials: [2n, 3n, 4n, 5n, 9n, U64_MAX], keyIds: ['alice', 'zed', 'ａ', '🔑'] },
        { caKey: null, serials: [], keyIds: ['any-ca'] },
      ],
      revokedKeySha256: [sha256('a'), sha256('b')].sort(Buffer.compare),
    });
  });

  test('is deterministic and independent of input order', () => {
    const a = withSerials([1n, 2n, 3n, 10n, 12n, 14n, 1000n]);
    const b = withSerials([1000n, 14n, 12n, 10n, 3n, 2n, 1n, 2n]);
    assert.deepEqual(encodeKrl(a), encodeKrl(b));
  });

  test('an empty KRL is just the header', () => {
    const krl = encodeKrl(emptyKrl());
    assert.equal(krl.length, 8 + 4 + 8 + 8 + 8 + 4 + 4);
    assert.deepEqual(decodeKrl(krl), emptyKrl());
  });

  test('chooses list, range or bitmap by size', () => {
    assert.deepEqual(certSubsectionTypes(encodeKrl(withSerials([5n]))), [[LIST]]);
    assert.deepEqual(certSubsectionTypes(encodeKrl(withSerials([5n, 6n]))), [[LIST]]);
    // a short run fits a bitmap (17 bytes of overhead) better than a range (21 bytes)
    assert.deepEqual(certSubsectionTypes(encodeKrl(withSerials([5n, 6n, 7n]))), [[BITMAP]]);
    assert.deepEqual(certSubsectionTypes(encodeKrl(withSerials(range(5n, 44n)))), [[RANGE]]);
    assert.deepEqual(certSubsectionTypes(encodeKrl(withSerials(range(1n, 100_000n)))), [[RANGE]]);
    assert.deepEqual(certSubsectionTypes(encodeKrl(withSerials([1n, 3n, 5n, 7n, 9n, 11n]))), [[BITMAP]]);

    const rnd = new TestRandom(7);
    const sparse = Array.from({ length: 1000 }, () => rnd.uint64() | 1n);
    const sparseKrl = encodeKrl(withSerials(sparse));
    assert.deepEqual(certSubsectionTypes(sparseKrl), [[LIST]]);
    assert.ok(sparseKrl.length < 8 * 1000 + 200, `${sparseKrl.length} bytes`);

    const mixed = encodeKrl({
      ...emptyKrl(),
      certificates: [{ caKey: FAKE_CA, serials: [...range(100n, 200n), ...range(1000n, 1100n, 2n), 1n << 40n], keyIds: ['x'] }],
    });
    // one list for the isolated serial, then ranges and bitmaps in ascending order, then key ids
    assert.deepEqual(certSubsectionTypes(mixed), [[LIST, RANGE, BITMAP, KEY_ID]]);
  });

  test('caps bitmaps at the 2048 bytes OpenSSH will read back', () => {
    const dense = range(1n, 100_000n, 2n);
    const krl = encodeKrl(withSerials(dense));
    const types = certSubsectionTypes(krl)[0]!;
    assert.ok(types.every((t) => t === BITMAP));
    assert.equal(types.length, Math.ceil(100_000 / 16384));
    assert.ok(krl.length < 100_000 / 8 + 300, `${krl.length} bytes`);
    assert.deepEqual(decodeKrl(krl).certificates[0]!.serials, dense);
  });

  test('handles serials at the top of the 64-bit range', () => {
    const serials = [U64_MAX, U64_MAX - 1n, U64_MAX - 2n, U64_MAX - 10n, U64_MAX - 12n, 1n];
    const decoded = decodeKrl(encodeKrl(withSerials(serials)));
    assert.deepEqual(decoded.certificates[0]!.serials, sortBigints(serials));
  });

  test('encodes 100,000 mixed serials well under a second', () => {
    const rnd = new TestRandom(100_000);
    const set = new Set<bigint>();
    let at = 1000n;
    while (set.size < 40_000) {
      const len = rnd.int(1, 2000);
      for (let i = 0; i < len && set.size < 40_000; i++) set.add(at + BigInt(i));
      at += BigInt(len + rnd.int(2, 5000));
    }
    while (set.size < 80_000) {
      if (rnd.float() < 0.5) set.add(at);
      at++;
    }
    while (set.size < 100_000) set.add(rnd.uint64() | 1n);
    const input = withSerials(rnd.shuffle([...set]));

    const started = performance.now();
    const krl = encodeKrl(input);
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1000, `encoding took ${elapsed.toFixed(0)} ms`);
    assert.deepEqual(decodeKrl(krl).certificates[0]!.serials, sortBigints(set));
  });

  test('serials given as a BigUint64Array encode as the same serials given as bigints', () => {
    const rnd = new TestRandom(11);
    // Around the 32-bit carry, 2^53 and 2^64, where the encoder's 32-bit halves could slip.
    const bases = [1n, 0xffffffffn - 300n, (1n << 53n) - 300n, U64_MAX - 20_000n, 0xfffffffffn];
    for (let round = 0; round < 20; round++) {
      const serials: bigint[] = [];
      for (const base of bases) {
        const density = rnd.float();
        for (let i = 0; i < rnd.int(0, 20_000); i++) if (rnd.float() < density && base + BigInt(i) <= U64_MAX) serials.push(base + BigInt(i));
      }
      for (let i = rnd.int(0, 50); i > 0; i--) serials.push(rnd.uint64() | 1n);
      const shuffled = rnd.shuffle([...serials, ...serials.slice(0, 30)]);
      const krl = encodeKrl(withSerials(shuffled));
      assert.deepEqual(encodeKrl({ ...emptyKrl(), certificates: [{ caKey: FAKE_CA, serials: BigUint64Array.from(shuffled), keyIds: [] }] }), krl);
      assert.deepEqual(decodeKrl(krl).certificates[0]?.serials ?? [], sortBigints(new Set(serials)));
    }
    assert.throws(() => encodeKrl({ ...emptyKrl(), certificates: [{ caKey: FAKE_CA, serials: BigUint64Array.from([3n, 0n]), keyIds: [] }] }), /serial 0 cannot be revoked/);
  });

  test('refuses input OpenSSH could not load or would misread', () => {
    assert.throws(() => encodeKrl(withSerials([5n, 0n])), /serial 0 cannot be revoked/);
    assert.throws(() => encodeKrl(withSerials([-1n])), /not a 64-bit unsigned integer/);
    assert.throws(() => encodeKrl(withSerials([1n << 64n])), /not a 64-bit unsigned integer/);
    assert.throws(() => encodeKrl({ ...emptyKrl(), version: -1n }), /KRL version/);
    assert.throws(() => encodeKrl({ ...emptyKrl(), comment: 'a\0b' }), /NUL/);
    assert.throws(
      () => encodeKrl({ ...emptyKrl(), certificates: [{ caKey: FAKE_CA, serials: [], keyIds: ['a\0b'] }] }),
      /NUL/,
    );
    assert.throws(
      () => encodeKrl({ ...emptyKrl(), certificates: [{ caKey: FAKE_CA, serials: [], keyIds: ['\ud800'] }] }),
      /not valid Unicode/,
    );
    assert.throws(() => encodeKrl({ ...emptyKrl(), revokedKeySha256: [Buffer.alloc(20)] }), /20 bytes/);
    assert.throws(
      () => encodeKrl({ ...emptyKrl(), certificates: [{ caKey: Buffer.alloc(0), serials: [1n], keyIds: [] }] }),
      /CA key is empty/,
    );
    assert.throws(
      () => encodeKrl({ ...emptyKrl(), certificates: [{ caKey: Buffer.from('garbage'), serials: [1n], keyIds: [] }] }),
      /not an SSH public key blob/,
    );
    const certBlob = new SshWriter().string('ssh-ed25519-cert-v01@openssh.com').string(Buffer.alloc(32)).toBuffer();
    assert.throws(
      () => encodeKrl({ ...emptyKrl(), certificates: [{ caKey: certBlob, serials: [1n], keyIds: [] }] }),
      /is a certificate/,
    );
  });
});

describe('decodeKrl on malformed input', () => {
  function header(): SshWriter {
    return new SshWriter()
      .raw(Buffer.from('SSHKRL\n\0', 'latin1'))
      .uint32(1)
      .uint64(1n)
      .uint64(2n)
      .uint64(0n)
      .string('')
      .string('');
  }

  function certSection(...subsections: Array<[number, Buffer]>): Buffer {
    const w = new SshWriter().string(FAKE_CA).string('');
    for (const [type, body] of subsections) w.byte(type).string(body);
    return header().byte(1).string(w.toBuffer()).toBuffer();
  }

  const u64s = (...v: bigint[]): Buffer => {
    const w = new SshWriter();
    for (const x of v) w.uint64(x);
    return w.toBuffer();
  };

  const cases: Array<[string, Buffer, RegExp]> = [
    ['bad magic', Buffer.from('SSHKRL\n\x01rest'), /not a KRL/],
    ['empty file', Buffer.alloc(0), /not a KRL/],
    ['format version 2', new SshWriter().raw(Buffer.from('SSHKRL\n\0', 'latin1')).uint32(2).toBuffer(), /format version 2/],
    ['truncated header', header().toBuffer().subarray(0, 30), /invalid KRL: truncated/],
    ['truncated section', header().byte(1).uint32(100).toBuffer(), /invalid KRL: truncated/],
    ['unknown section', header().byte(9).string('').toBuffer(), /unknown type 9/],
    ['signature section', header().byte(4).string('key').string('sig').toBuffer(), /signature/],
    ['SHA-1 section', header().byte(3).string(new SshWriter().string(Buffer.alloc(20)).toBuffer()).toBuffer(), /SHA-1/],
    ['short SHA-256 hash', header().byte(5).string(new SshWriter().string(Buffer.alloc(31)).toBuffer()).toBuffer(), /31-byte/],
    [
      'critical extension',
      header().byte(255).string(new SshWriter().string('x@example.com').byte(1).string('').toBuffer()).toBuffer(),
      /critical extension "x@example.com"/,
    ],
    ['serial 0 in a list', certSection([LIST, u64s(5n, 0n)]), /serial 0/],
    ['serial list not a multiple of 8 bytes', certSection([LIST, Buffer.alloc(12, 1)]), /truncated/],
    ['range from 0', certSection([RANGE, u64s(0n, 5n)]), /serial 0/],
    ['inverted range', certSection([RANGE, u64s(9n, 5n)]), /inverted serial range 9-5/],
    ['range with extra data', certSection([RANGE, u64s(1n, 5n, 7n)]), /8 unparsed bytes/],
    ['bitmap revoking serial 0', certSection([BITMAP, new SshWriter().uint64(0n).mpint(Buffer.from([3])).toBuffer()]), /serial 0/],
    [
      'bitmap past 2^64-1',
      certSection([BITMAP, new SshWriter().uint64(U64_MAX).mpint(Buffer.from([3])).toBuffer()]),
      /past serial 2\^64-1/,
    ],
    ['negative bitmap', certSection([BITMAP, new SshWriter().uint64(1n).string(Buffer.from([0x80])).toBuffer()]), /negative/],
    [
      'bitmap over 2048 bytes',
      certSection([BITMAP, new SshWriter().uint64(1n).mpint(Buffer.alloc(2049, 1)).toBuffer()]),
      /2049-byte bitmap/,
    ],
    ['unknown certificate sub-section', certSection([0x30, Buffer.alloc(0)]), /unknown type 0x30/],
    ['key id not UTF-8', certSection([KEY_ID, new SshWriter().string(Buffer.from([0xff])).toBuffer()]), /not valid UTF-8/],
    ['CA key that is not a key', header().byte(1).string(new SshWriter().string('nonsense').string('').toBuffer()).toBuffer(), /not an SSH public key blob/],
  ];
  for (const [name, bytes, message] of cases) {
    test(name, () => assert.throws(() => decodeKrl(bytes), message));
  }

  test('skips non-critical extensions, as PROTOCOL.krl allows', () => {
    const ext = new SshWriter().string('x@example.com').byte(0).string('v').toBuffer();
    const krl = Buffer.concat([
      certSection([0x39, ext], [LIST, u64s(3n)]),
      new SshWriter().byte(255).string(ext).toBuffer(),
    ]);
    assert.deepEqual(decodeKrl(krl).certificates, [{ caKey: FAKE_CA, serials: [3n], keyIds: [] }]);
  });

  test('a bitmap with leading zero bytes within the limit is accepted', () => {
    const bitmap = new SshWriter().uint64(10n).string(Buffer.concat([Buffer.alloc(2), Buffer.from([5])])).toBuffer();
    assert.deepEqual(decodeKrl(certSection([BITMAP, bitmap])).certificates[0]!.serials, [10n, 12n]);
  });

  test('refuses to list more serials than it can hold', () => {
    assert.throws(() => decodeKrl(certSection([RANGE, u64s(1n, U64_MAX)])), /18446744073709551615 serials/);
  });
});

describe('KRLs against ssh-keygen', () => {
  let dir: string;
  let ca: TestKey;
  let otherCa: TestKey;
  let user: TestKey;
  let revokedUser: TestKey;

  before(() => {
    dir = makeTempDir();
    ca = newEd25519Key(dir, 'ca');
    otherCa = newEd25519Key(dir, 'ca2');
    user = newEd25519Key(dir, 'user');
    revokedUser = newEd25519Key(dir, 'revoked');
  });
  after(() => removeTempDir(dir));

  function writeKrl(name: string, input: KrlInput): string {
    fs.writeFileSync(path.join(dir, name), encodeKrl(input));
    return name;
  }

  test('an empty KRL is accepted and revokes nothing', async () => {
    const krl = writeKrl('empty.krl', emptyKrl());
    const [cert] = await signCertificates(dir, [{ ca, subject: user, keyId: 'u', serial: 1n }]);
    assert.deepEqual(checkWithSshKeygen(dir, krl, [user.pub, cert!]), ['ok', 'ok']);
  });

  test('ssh-keygen reads the header', () => {
    const krl = writeKrl('header.krl', { ...emptyKrl(), version: 42n, generatedAt: 1_700_000_000n, comment: 'hello' });
    assert.deepEqual(dumpWithSshKeygen(dir, krl).header, [
      'KRL version 42',
      'Generated at 20231114T221320',
      'Comment: hello',
    ]);
  });

  test('decodes what ssh-keygen -k writes', () => {
    const userLine = fs.readFileSync(path.join(dir, user.pub), 'utf8').trim();
    const hashB64 = revokedUser.sha256.toString('base64').replace(/=+$/, '');
    fs.writeFileSync(
      path.join(dir, 'spec'),
      ['serial: 5-9', 'serial: 11', 'serial: 18446744073709551615', 'id: alice', `key: ${userLine}`, `hash: SHA256:${hashB64}`, ''].join('\n'),
    );
    sshKeygen(dir, ['-q', '-k', '-z', '3', '-f', 'theirs.krl', '-s', ca.pub, 'spec']);
    const decoded = decodeKrl(fs.readFileSync(path.join(dir, 'theirs.krl')));
    assert.equal(decoded.version, 3n);
    assert.deepEqual(decoded.certificates, [
      { caKey: ca.blob, serials: [5n, 6n, 7n, 8n, 9n, 11n, U64_MAX], keyIds: ['alice'] },
    ]);
    // the explicitly revoked key comes back as its hash, which revokes the same key
    assert.deepEqual(decoded.revokedKeySha256, [user.sha256, revokedUser.sha256].sort(Buffer.compare));
  });

  test('ssh-keygen -k writes bitmaps it cannot read back; tctl refuses them too', () => {
    fs.writeFileSync(path.join(dir, 'dense'), range(1n, 40_001n, 2n).map((s) => `serial: ${s}\n`).join(''));
    sshKeygen(dir, ['-q', '-k', '-f', 'dense.krl', '-s', ca.pub, 'dense']);
    assert.throws(() => sshKeygen(dir, ['-Q', '-f', 'dense.krl', user.pub]), /bignum is too large/);
    assert.throws(() => decodeKrl(fs.readFileSync(path.join(dir, 'dense.krl'))), /OpenSSH refuses bitmaps/);

    // the same serials written by tctl load fine
    const ours = writeKrl('dense-tctl.krl', { ...emptyKrl(), certificates: [{ caKey: ca.blob, serials: range(1n, 40_001n, 2n), keyIds: [] }] });
    assert.deepEqual(dumpWithSshKeygen(dir, ours).cas.get(fingerprint(ca.blob))?.serials, runLines(range(1n, 40_001n, 2n)));
  });

  // Each round builds a random revocation set, then asks ssh-keygen both for its full reading of
  // the KRL (-Q -l) and for verdicts on real certificates around the edges of the set.
  const ROUNDS = [1, 2, 3, 4, 5, 6];
  for (const seed of ROUNDS) {
    test(`property round ${seed}: ssh-keygen agrees with the revocation set`, async () => {
      const rnd = new TestRandom(seed);
      const revoked = new Set<bigint>();
      const addRange = (lo: bigint, hi: bigint): void => {
        for (let s = lo; s <= hi; s++) revoked.add(s);
      };

      for (let i = rnd.int(1, 6); i > 0; i--) {
        const lo = BigInt(rnd.int(1, 1_000_000));
        addRange(lo, lo + BigInt(rnd.pick([1, 2, 3, rnd.int(4, 5000)]) - 1));
      }
      const window = BigInt(rnd.int(1_000_000, 2_000_000));
      const span = rnd.int(100, 40_000);
      const density = 0.1 + 0.8 * rnd.float();
      for (let i = 0; i < span; i++) if (rnd.float() < density) revoked.add(window + BigInt(i));
      for (let i = rnd.int(0, 300); i > 0; i--) revoked.add(rnd.uint64() | 1n);
      addRange(U64_MAX - BigInt(rnd.int(0, 40)), U64_MAX);
      revoked.add(U64_MAX - 100n);
      if (rnd.float() < 0.5) revoked.add(1n);

      const revokedIds = [`gone-${seed}`, 'ünïcode-id', `x${rnd.uint32()}`];
      const anyCaId = `any-ca-${seed}`;
      const all = [...revoked];
      const serialInput = rnd.shuffle([...all, ...all.slice(0, 50)]); // duplicates too
      const half = serialInput.length >> 1;
      const input: KrlInput = {
        version: BigInt(seed),
        generatedAt: 1_700_000_000n + BigInt(seed),
        comment: `round ${seed}`,
        certificates: [
          // the same CA twice: OpenSSH keeps one set per CA, so they must merge
          { caKey: ca.blob, serials: serialInput.slice(0, half), keyIds: revokedIds.slice(0, 2) },
          { caKey: null, serials: [], keyIds: [anyCaId] },
          { caKey: ca.blob, serials: serialInput.slice(half), keyIds: revokedIds.slice(2) },
        ],
        revokedKeySha256: [revokedUser.sha256, sha256(`unrelated ${seed}`)],
      };
      const krlBytes = encodeKrl(input);
      const krl = writeKrl(`round${seed}.krl`, input);
      const sorted = sortBigints(revoked);
      const idsInOrder = [...revokedIds].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

      // 1. our own reading
      assert.deepEqual(decodeKrl(krlBytes), {
        version: BigInt(seed),
        generatedAt: 1_700_000_000n + BigInt(seed),
        comment: `round ${seed}`,
        certificates: [
          { caKey: ca.blob, serials: sorted, keyIds: idsInOrder },
          { caKey: null, serials: [], keyIds: [anyCaId] },
        ],
        revokedKeySha256: [...input.revokedKeySha256].sort(Buffer.compare),
      });

      // 2. OpenSSH's full reading of the KRL
      const dump = dumpWithSshKeygen(dir, krl);
      assert.deepEqual(dump.cas.get(fingerprint(ca.blob)), { serials: runLines(sorted), ids: idsInOrder });
      assert.deepEqual(dump.cas.get('*'), { serials: [], ids: [anyCaId] });
      assert.deepEqual(
        dump.hashes,
        [...input.revokedKeySha256].sort(Buffer.compare).map((h) => `SHA256:${h.toString('hex')}`),
      );

      // 3. verdicts on certificates: run edges ±1, random members and non-members
      const probes = new Set<bigint>([1n, 2n, U64_MAX, U64_MAX - 1n, U64_MAX - 99n, U64_MAX - 100n, U64_MAX - 101n]);
      const runs = serialRuns(sorted);
      for (let i = 0; i < 12; i++) {
        const [lo, hi] = rnd.pick(runs);
        for (const s of [lo - 1n, lo, lo + 1n, hi - 1n, hi, hi + 1n]) if (s > 0n && s <= U64_MAX) probes.add(s);
      }
      for (let i = 0; i < 8; i++) probes.add(rnd.pick(all));
      for (let i = 0; i < 4; i++) probes.add(window + BigInt(rnd.int(0, span)));
      for (let i = 0; i < 4; i++) probes.add(rnd.uint64() | 1n);
      const probeList = [...probes];
      const notRevoked = (start: bigint): bigint => {
        let s = start;
        while (revoked.has(s)) s++;
        return s;
      };
      const aRevokedSerial = rnd.pick(all);

      const requests: CertRequest[] = probeList.map((serial) => ({ ca, subject: user, keyId: `user-${serial}`, serial }));
      const extras: Array<[string, CertRequest, 'ok' | 'REVOKED']> = [
        ['other CA, revoked serial', { ca: otherCa, subject: user, keyId: 'other', serial: aRevokedSerial }, 'ok'],
        ['revoked key id', { ca, subject: user, keyId: revokedIds[0]!, serial: notRevoked(3n) }, 'REVOKED'],
        ['revoked unicode key id', { ca, subject: user, keyId: 'ünïcode-id', serial: notRevoked(3n) }, 'REVOKED'],
        ['key id revoked for any CA', { ca: otherCa, subject: user, keyId: anyCaId, serial: notRevoked(3n) }, 'REVOKED'],
        ['serial 0, key id not revoked', { ca, subject: user, keyId: 'zero' }, 'ok'],
        ['certificate for a revoked key', { ca, subject: revokedUser, keyId: 'k', serial: notRevoked(3n) }, 'REVOKED'],
      ];
      const certs = await signCertificates(dir, [...requests, ...extras.map((e) => e[1])]);
      const verdicts = checkWithSshKeygen(dir, krl, [...certs, revokedUser.pub, user.pub]);

      const failures: string[] = [];
      probeList.forEach((serial, i) => {
        const want = revoked.has(serial) ? 'REVOKED' : 'ok';
        if (verdicts[i] !== want) failures.push(`serial ${serial}: ssh-keygen says ${verdicts[i]}, expected ${want}`);
      });
      extras.forEach(([name, , want], i) => {
        const got = verdicts[probeList.length + i];
        if (got !== want) failures.push(`${name}: ssh-keygen says ${got}, expected ${want}`);
      });
      if (verdicts.at(-2) !== 'REVOKED') failures.push('revoked plain key: not REVOKED');
      if (verdicts.at(-1) !== 'ok') failures.push('plain key not revoked: not ok');
      assert.deepEqual(failures, [], `seed ${seed}`);
    });
  }
});
