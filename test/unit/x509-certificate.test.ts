// Certificates from src/x509 checked by real software: openssl verify/x509 -text and Node's
// X509Certificate, for every leaf profile under every CA key type, plus the encoding traps
// (top-bit serials, GeneralizedTime from 2050, IP SANs) and the validity rules.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { type GenerateSpec, generateKey } from '../../src/keys/generate.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import {
  type LeafProfile, LEAF_PROFILES, createCaCertificate, decodeCertificates, generateX509Key, ipBytes, issueLeafCertificate,
  issuerFromCertificate, signerFromKeyObject,
} from '../../src/x509/index.js';
import { makeCa, makeLeaf, openssl } from './x509-helpers.js';

const HOSTS = ['db.example.com', '10.0.0.5', 'alt.example.com', '2001:db8::7'];

const EXPECTED: Record<LeafProfile, { names: string[]; cn: string; eku: string; purpose: string }> = {
  'tls-user': { names: ['joe'], cn: 'joe', eku: 'TLS Web Client Authentication', purpose: 'sslclient' },
  'tls-host': { names: HOSTS, cn: 'db.example.com', eku: 'TLS Web Server Authentication', purpose: 'sslserver' },
  'db-server': { names: HOSTS, cn: 'db.example.com', eku: 'TLS Web Server Authentication, TLS Web Client Authentication', purpose: 'sslserver' },
  'db-client': { names: ['alice'], cn: 'alice', eku: 'TLS Web Client Authentication', purpose: 'sslclient' },
  'cockroachdb-node': { names: HOSTS, cn: 'node', eku: 'TLS Web Server Authentication, TLS Web Client Authentication', purpose: 'sslserver' },
};

for (const caType of ['ecdsa-p256', 'rsa-2048', 'ed25519'] as const) {
  describe(`X.509 profiles under a ${caType} CA`, () => {
    const ca = makeCa(caType);

    test('the CA certificate: self-signed, CA:TRUE critical, keyCertSign+cRLSign, SKI = AKI, CN=O=cluster, 10 years', () => {
      const text = openssl(['x509', '-in', ca.file, '-text', '-noout']).stdout;
      assert.match(text, /Subject: O = example.com, CN = example.com/);
      assert.match(text, /Basic Constraints: critical\n\s+CA:TRUE/);
      assert.match(text, /Key Usage: critical\n\s+Digital Signature, Certificate Sign, CRL Sign/);
      const ski = /Subject Key Identifier: \n\s+(\S+)/.exec(text)?.[1];
      assert.ok(ski);
      assert.match(text, new RegExp(`Authority Key Identifier: \\n\\s+(keyid:)?${ski}`));
      assert.equal(openssl(['verify', '-CAfile', ca.file, ca.file]).status, 0);
      const x = new X509Certificate(ca.cert.der);
      assert.ok(x.ca && x.verify(x.publicKey));
      const years = (ca.cert.notAfter.getTime() - ca.cert.notBefore.getTime()) / (365.25 * 86400e3);
      assert.ok(Math.abs(years - 10) < 0.01, `validity ${years} years`);
    });

    for (const profile of LEAF_PROFILES) {
      test(`${profile}: openssl verify (purpose ${EXPECTED[profile].purpose}), x509 -text and X509Certificate.verify agree`, () => {
        const want = EXPECTED[profile];
        const leaf = makeLeaf(ca, profile, want.names);
        const v = openssl(['verify', '-purpose', want.purpose, '-CAfile', ca.file, leaf.certFile]);
        assert.equal(v.status, 0, v.stdout + v.stderr);
        const text = openssl(['x509', '-in', leaf.certFile, '-text', '-noout']).stdout;
        assert.match(text, new RegExp(`Subject: CN = ${want.cn}\\n`));
        assert.match(text, new RegExp(`Extended Key Usage: \\n\\s+${want.eku}\\n`));
        assert.match(text, /Basic Constraints: critical\n\s+CA:FALSE/);
        // keyEncipherment only for RSA keys (db profiles get RSA, tls ones P-256)
        const rsa = profile.startsWith('db') || profile === 'cockroachdb-node';
        assert.match(text, rsa ? /Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/ : /Key Usage: critical\n\s+Digital Signature\n/);
        if (want.names.length > 1) {
          assert.match(text, /DNS:db.example.com, DNS:alt.example.com, IP Address:10.0.0.5, IP Address:2001:DB8:0:0:0:0:0:7/);
        } else {
          assert.doesNotMatch(text, /Subject Alternative Name/);
        }
        const x = new X509Certificate(leaf.cert.der);
        assert.ok(x.verify(new X509Certificate(ca.cert.der).publicKey));
        assert.ok(x.checkIssued(new X509Certificate(ca.cert.der)));
        const [decoded] = decodeCertificates(leaf.cert.pem);
        assert.equal(decoded!.subject.commonName, want.cn);
        assert.equal(decoded!.serialHex, leaf.cert.serialHex);
        assert.equal(decoded!.serialHex, x.serialNumber.toLowerCase().replace(/^0+/, ''));
      });
    }
  });
}

describe('X.509 encoding traps', () => {
  const ca = makeCa('ecdsa-p256');

  test('a serial with its top bit set gets a leading 0x00: positive for openssl, Node and our decoder', () => {
    const key = generateX509Key('ecdsa-p256');
    const cert = issueLeafCertificate({ profile: 'tls-user', publicKey: key.publicKey, names: ['joe'], ttlSeconds: 3600 }, ca.issuer, {
      now: new Date(), random: (n) => Buffer.alloc(n, 0xff),
    });
    assert.equal(cert.serialHex, 'ff'.repeat(16));
    fs.writeFileSync(path.join(ca.dir, 'top.crt'), cert.pem);
    assert.equal(openssl(['verify', '-CAfile', ca.file, path.join(ca.dir, 'top.crt')]).status, 0);
    assert.match(openssl(['x509', '-in', path.join(ca.dir, 'top.crt'), '-noout', '-serial']).stdout, /serial=F{32}\n/);
    assert.equal(new X509Certificate(cert.der).serialNumber, 'FF'.repeat(16));
    assert.ok(cert.der.includes(Buffer.from('021100' + 'ff'.repeat(16), 'hex')), 'INTEGER of 17 bytes with a leading 0x00');
    assert.equal(decodeCertificates(cert.der)[0]!.serial, (1n << 128n) - 1n);
  });

  test('random serials: 300 draws are positive, unique, minimally encoded and ≥ 64 bits on average', () => {
    const key = generateX509Key('ecdsa-p256');
    const seen = new Set<string>();
    let bits = 0;
    for (let i = 0; i < 300; i++) {
      const cert = issueLeafCertificate({ profile: 'tls-user', publicKey: key.publicKey, names: ['joe'], ttlSeconds: 3600 }, ca.issuer, { now: new Date() });
      const decoded = decodeCertificates(cert.der)[0]!;
      assert.ok(decoded.serial > 0n);
      assert.equal(decoded.serial, cert.serial);
      seen.add(cert.serialHex);
      bits += cert.serial.toString(2).length;
    }
    assert.equal(seen.size, 300);
    assert.ok(bits / 300 > 120, `mean serial length ${bits / 300} bits`);
  });

  test('expiry from 2050 is GeneralizedTime, before 2050 UTCTime; openssl accepts both', () => {
    const now = new Date('2049-12-31T00:00:00Z');
    const old = makeCa('ecdsa-p256', 'future.example', new Date('2045-06-01T00:00:00Z'));
    const leaf = makeLeaf(old, 'tls-host', ['h.example'], { ttlSeconds: 3 * 86400, now });
    const parsed = openssl(['asn1parse', '-in', leaf.certFile]).stdout;
    assert.match(parsed, /UTCTIME\s+:491230235900Z/);
    assert.match(parsed, /GENERALIZEDTIME\s+:20500103000000Z/);
    const caParsed = openssl(['asn1parse', '-in', old.file]).stdout;
    assert.match(caParsed, /GENERALIZEDTIME\s+:20550531235900Z/);
    const at = String(Math.floor(Date.parse('2050-01-02T00:00:00Z') / 1000));
    const v = openssl(['verify', '-attime', at, '-CAfile', old.file, leaf.certFile]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.equal(decodeCertificates(leaf.cert.der)[0]!.notAfter.toISOString(), '2050-01-03T00:00:00.000Z');
    assert.equal(new X509Certificate(leaf.cert.der).validTo, 'Jan  3 00:00:00 2050 GMT');
  });

  test('IP SANs are 4 or 16 raw bytes and never dNSNames; an IPv4-mapped IPv6 address is written as IPv4', () => {
    assert.deepEqual([...ipBytes('10.0.0.5')], [10, 0, 0, 5]);
    assert.equal(ipBytes('::1').length, 16);
    assert.deepEqual([...ipBytes('::ffff:192.0.2.1')], [192, 0, 2, 1]);
    assert.equal(ipBytes('2001:db8::1:2').toString('hex'), '20010db8000000000000000000010002');
    assert.equal(ipBytes('1:2:3:4:5:6:7:8').toString('hex'), '00010002000300040005000600070008');
    const leaf = makeLeaf(ca, 'db-server', ['127.0.0.1', '::1', '::ffff:192.0.2.1', 'db.example.com', '127.0.0.1']);
    const text = openssl(['x509', '-in', leaf.certFile, '-noout', '-ext', 'subjectAltName']).stdout;
    assert.match(text, /DNS:db.example.com, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:192.0.2.1\n/);
    assert.doesNotMatch(text, /DNS:[0-9:.]+[,\n]/);
    const x = new X509Certificate(leaf.cert.der);
    assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(x.checkIP('::1'), '::1');
    assert.equal(x.checkHost('127.0.0.1'), undefined);
    assert.equal(new X509Certificate(leaf.cert.der).subject, 'CN=127.0.0.1');
  });

  test('host names get the SSH validation: wildcards, bad names and bracketed IPv6 are refused before signing', () => {
    const key = generateX509Key('ecdsa-p256');
    for (const bad of ['*.example.com', 'a b', 'exa$mple.com', '[::1]', 'fe80::1%eth0', '1.2.3.4.5', 'a..b', '']) {
      assert.throws(() => issueLeafCertificate({ profile: 'tls-host', publicKey: key.publicKey, names: [bad], ttlSeconds: 3600 }, ca.issuer, { now: new Date() }), Error, bad);
    }
    assert.throws(() => issueLeafCertificate({ profile: 'db-server', publicKey: key.publicKey, names: [], ttlSeconds: 3600 }, ca.issuer, { now: new Date() }), /at least one hostname must be specified/);
    assert.throws(() => issueLeafCertificate({ profile: 'tls-user', publicKey: key.publicKey, names: ['a'.repeat(65)], ttlSeconds: 3600 }, ca.issuer, { now: new Date() }), /longer than 64/);
  });
});

describe('X.509 validity', () => {
  test('notBefore is back-dated one minute; notAfter = now + TTL', () => {
    const ca = makeCa('ecdsa-p256');
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const leaf = makeLeaf(ca, 'tls-user', ['joe'], { ttlSeconds: 12 * 3600, now });
    assert.equal(leaf.cert.notBefore.getTime(), Math.max(now.getTime() - 60_000, ca.cert.notBefore.getTime()));
    assert.equal(leaf.cert.notAfter.getTime(), now.getTime() + 12 * 3600e3);
    assert.equal(leaf.cert.clamped, false);
  });

  test('a leaf never outlives its CA: the expiry is cut to the CA expiry, and an expired CA issues nothing', () => {
    const created = new Date();
    created.setUTCFullYear(created.getUTCFullYear() - 10);
    const ca = makeCa('rsa-2048', 'old.example', new Date(created.getTime() + 3 * 3600e3));
    const leaf = makeLeaf(ca, 'db-client', ['alice'], { ttlSeconds: 12 * 3600 });
    assert.equal(leaf.cert.clamped, true);
    assert.equal(leaf.cert.notAfter.getTime(), ca.cert.notAfter.getTime());
    assert.equal(openssl(['verify', '-CAfile', ca.file, leaf.certFile]).status, 0);
    const key = generateX509Key('ecdsa-p256');
    const later = new Date(ca.cert.notAfter.getTime() + 1000);
    assert.throws(() => issueLeafCertificate({ profile: 'tls-user', publicKey: key.publicKey, names: ['joe'], ttlSeconds: 3600 }, ca.issuer, { now: later }), /can no longer issue/);
  });

  test('TTLs outside 60 s .. 10 years, or not whole seconds, are refused', () => {
    const ca = makeCa('ecdsa-p256');
    const key = generateX509Key('ecdsa-p256');
    for (const ttl of [0, 59, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 87600 * 3600 + 1]) {
      assert.throws(() => issueLeafCertificate({ profile: 'tls-user', publicKey: key.publicKey, names: ['joe'], ttlSeconds: ttl }, ca.issuer, { now: new Date() }), /TTL/, String(ttl));
    }
  });

  test('a CA certificate is bound to its own key only', () => {
    const a = makeCa('ecdsa-p256');
    const other = signerFromKeyObject(generateKey({ type: 'ec', namedCurve: 'P-256' }).privateKey);
    assert.throws(() => issuerFromCertificate(a.cert.der, other), /does not match/);
    const leaf = makeLeaf(a, 'tls-user', ['joe']);
    assert.throws(() => issuerFromCertificate(leaf.cert.der, a.issuer.signer), /not a CA certificate/);
    assert.throws(() => signerFromKeyObject(generateKey({ type: 'rsa', modulusLength: 1024 }).privateKey), /too weak/);
    assert.throws(() => createCaCertificate({ clusterName: '*.bad', signer: a.issuer.signer, now: new Date() }), /cluster-name/);
  });
});

describe('SubjectPublicKeyInfo', () => {
  test('spkiDer (built from the JWK) equals node:crypto export for 100 keys of each supported type', async () => {
    const { spkiDer } = await import('../../src/x509/spki.js');
    const kinds: GenerateSpec[] = [{ type: 'ec', namedCurve: 'P-256' }, { type: 'ec', namedCurve: 'P-384' }, { type: 'ec', namedCurve: 'P-521' }, { type: 'ed25519' }];
    for (let i = 0; i < 100; i++) {
      for (const spec of kinds) {
        const key = generateKey(spec).publicKey;
        assert.ok(spkiDer(key).equals(key.export({ type: 'spki', format: 'der' })), JSON.stringify(spec));
      }
    }
    for (let i = 0; i < 5; i++) {
      const key = generateKey({ type: 'rsa', modulusLength: 2048 }).publicKey;
      assert.ok(spkiDer(key).equals(key.export({ type: 'spki', format: 'der' })));
    }
  });
});
