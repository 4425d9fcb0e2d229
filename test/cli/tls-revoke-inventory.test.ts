// Revoking X.509 certificates, their CRLs, and the inventory commands (ls, inspect, status) on TLS
// certificates. A KRL never carries a TLS serial.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initialisedCa } from '../helpers/run.js';
import { makeCa, makeLeaf, openssl } from '../unit/x509-helpers.js';

const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));
const serialOf = (cwd: string, file: string) => openssl(['x509', '-in', file, '-noout', '-serial'], { cwd }).stdout.trim().replace(/^serial=/, '');
const oneErrorLine = (stderr: string) => assert.equal(stderr.split('\n').filter((l) => l.startsWith('tctl: error:')).length, 1, stderr);

test('revoke a TLS certificate by hex serial in every spelling, or by its PEM/DER file; the CRL lists it and the KRL does not change', () => {
  const { run, cwd, dataDir } = initialisedCa();
  assert.equal(run(['auth', 'sign', '--user=joe']).status, 0);
  // The KRL with its generation time (bytes 20-27, PROTOCOL.krl) zeroed.
  const krl = () => {
    assert.equal(run(['auth', 'export', '--type=krl', '-o', 'r.krl']).status, 0);
    return fs.readFileSync(path.join(cwd, 'r.krl')).fill(0, 20, 28).toString('hex');
  };
  const krlBefore = krl();
  const names = ['a', 'b', 'c', 'd', 'e'];
  for (const n of names) assert.equal(run(['auth', 'sign', '--format=db', `--user=${n}`, `--out=${n}`]).status, 0);
  const serials = names.map((n) => serialOf(cwd, `${n}.crt`));
  const colons = (s: string) => (s.length % 2 ? '0' + s : s).match(/../g)!.join(':');
  const spellings = [serials[0]!, `0x${serials[1]!.toLowerCase()}`, colons(serials[2]!)];
  for (const [i, s] of spellings.entries()) {
    const r = run(['auth', 'revoke', `--serial=${s}`, '--reason=test']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Revoked TLS certificate serial ${serials[i]!.toLowerCase().replace(/^0+/, '')} \\(db-client CA sha256:[0-9a-f]{64}\\)\\.\\n$`));
    assert.match(r.stderr, /tctl auth crl --type=db-client --format=pem/);
  }
  assert.equal(openssl(['x509', '-in', 'd.crt', '-outform', 'DER', '-out', 'd.der'], { cwd }).status, 0);
  assert.equal(run(['auth', 'revoke', '--cert=d.der']).status, 0);
  assert.match(run(['auth', 'revoke', '--cert=d.crt']).stdout, /^Already revoked: TLS certificate serial/);
  const records = fs.readFileSync(path.join(dataDir, 'revoked.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(records.length, 4);
  assert.deepEqual(Object.keys(records[0]), ['kind', 'serial', 'ca', 'caFingerprint', 'revokedAt', 'reason']);
  assert.equal(records[0].kind, 'x509-serial');

  // A certificate from another CA, and a malformed one, are refused.
  const other = makeCa('rsa-2048');
  const foreign = makeLeaf(other, 'db-client', ['a']);
  fs.copyFileSync(foreign.certFile, path.join(cwd, 'foreign.crt'));
  const f = run(['auth', 'revoke', '--cert=foreign.crt']);
  assert.equal(f.status, 1);
  assert.match(f.stderr, /^tctl: error: foreign\.crt was not signed by any TLS CA key of this cluster/);

  // The KRL is byte-identical: TLS revocations never reach sshd.
  assert.equal(krl(), krlBefore);

  // DER CRL, verified by openssl against the db-client CA, lists exactly the four.
  const crl = run(['auth', 'crl', '--type=db-client', '-o', 'c.crl']);
  assert.equal(crl.status, 0, crl.stderr);
  fs.writeFileSync(path.join(cwd, 'client-ca.crt'), run(['auth', 'export', '--type=db-client']).stdout);
  const text = openssl(['crl', '-inform', 'DER', '-in', 'c.crl', '-CAfile', 'client-ca.crt', '-noout', '-text'], { cwd });
  assert.match(text.stderr + text.stdout, /verify OK/);
  const listed = [...text.stdout.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1]!.replace(/^0+/, ''));
  assert.deepEqual(listed.sort(), serials.slice(0, 4).map((s) => s.replace(/^0+/, '')).sort());
  assert.match(text.stdout, /CRL Number: \s*\d{10}/);
  const [last, next] = [/Last Update: (.*)/.exec(text.stdout)![1]!, /Next Update: (.*)/.exec(text.stdout)![1]!].map((d) => Date.parse(d));
  assert.ok(Math.abs(next! - last! - (8760 * 3600e3 + 60e3)) < 5000);
  // The db CA's CRL is empty but valid; --ttl sets nextUpdate.
  const empty = run(['auth', 'crl', '--type=db', '--format=pem', '--ttl=24h']);
  assert.equal(empty.status, 0);
  assert.doesNotMatch(openssl(['crl', '-noout', '-text'], { input: empty.stdout }).stdout, /Serial Number/);

  // auth ls: TLS certificates with their profile, hex serial and status.
  const ls = JSON.parse(run(['auth', 'ls', '--json', '--type=db-client']).stdout) as Array<{ serial: string; status: string; format: string; ca: string }>;
  assert.equal(ls.length, 5);
  assert.deepEqual(ls.map((r) => r.status), ['revoked', 'revoked', 'revoked', 'revoked', 'valid']);
  assert.ok(ls.every((r) => r.format === 'x509' && r.ca === 'db_client'));
  const table = run(['auth', 'ls']).stdout;
  assert.match(table, /^[0-9a-f]{20,32}\s+db-client\s+e\s+e\s+\S+\s+valid$/m);
  assert.match(table, /^1\s+user\s+joe\s+joe\s+\S+\s+valid$/m);
  assert.equal(run(['auth', 'ls', '--revoked', '--json']).stdout.match(/"x509"/g)?.length, 4);
});

test('auth crl: one CRL per trusted key during a rotation (PEM), DER refused then unless --fingerprint picks one; usage errors', () => {
  const { run, cwd, dataDir } = initialisedCa();
  assert.equal(run(['auth', 'sign', '--format=db', '--user=old', '--out=old']).status, 0);
  assert.equal(run(['auth', 'rotate', '--type=db-client', '--manual', '--phase=init']).status, 0);
  assert.equal(run(['auth', 'rotate', '--type=db-client', '--manual', '--phase=update_clients']).status, 0);
  assert.equal(run(['auth', 'sign', '--format=db', '--user=new', '--out=new']).status, 0);
  assert.equal(run(['auth', 'revoke', `--serial=${serialOf(cwd, 'old.crt')}`]).status, 0);
  assert.equal(run(['auth', 'revoke', `--serial=${serialOf(cwd, 'new.crt')}`]).status, 0);
  const pem = run(['auth', 'crl', '--type=db_client', '--format=pem']);
  assert.equal(pem.status, 0, pem.stderr);
  const blocks = pem.stdout.match(/-----BEGIN X509 CRL-----[^-]+-----END X509 CRL-----\n/g)!;
  assert.equal(blocks.length, 2);
  // Each CRL is signed by its own key and lists that key's certificates only.
  const cas = run(['auth', 'export', '--type=db-client']).stdout.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g)!;
  for (const [i, block] of blocks.entries()) {
    fs.writeFileSync(path.join(cwd, 'ca.pem'), cas[i]!);
    const r = openssl(['crl', '-CAfile', 'ca.pem', '-noout', '-text'], { cwd, input: block });
    assert.match(r.stderr + r.stdout, /verify OK/);
    assert.equal(r.stdout.match(/Serial Number/g)?.length, 1);
    assert.match(r.stdout, new RegExp(serialOf(cwd, i === 0 ? 'new.crt' : 'old.crt')));
  }
  // --fingerprint picks one key's CRL, in DER too: signed by that key, listing its certificate only.
  const rotating = readJson(path.join(dataDir, 'state.json')).tls.db_client;
  for (const [record, holder] of [[rotating.current, 'old.crt'], [rotating.next, 'new.crt']] as const) {
    const der = run(['auth', 'crl', '--type=db-client', `--fingerprint=${record.fingerprint}`, '-o', 'one.crl']);
    assert.equal(der.status, 0, der.stderr);
    const verifiedBy = cas.filter((ca) => {
      fs.writeFileSync(path.join(cwd, 'ca.pem'), ca);
      const r = openssl(['crl', '-inform', 'DER', '-in', 'one.crl', '-CAfile', 'ca.pem', '-noout', '-text'], { cwd });
      return /verify OK/.test(r.stderr + r.stdout);
    });
    assert.equal(verifiedBy.length, 1, 'the CRL verifies against exactly one of the two CA certificates');
    const text = openssl(['crl', '-inform', 'DER', '-in', 'one.crl', '-noout', '-text'], { cwd }).stdout;
    assert.equal(text.match(/Serial Number/g)?.length, 1);
    assert.match(text, new RegExp(serialOf(cwd, holder)));
  }
  const unknownPin = `sha256:${'0'.repeat(64)}`;
  for (const [args, code, re] of [
    [['--type=db-client'], 1, /the db-client CA has 2 trusted keys during its rotation, each with its own CRL, and DER holds one/],
    [['--type=db-client', `--fingerprint=${unknownPin}`], 1, /no trusted db-client CA key has fingerprint sha256:0{64}/],
    [['--type=db', `--fingerprint=${rotating.current.fingerprint}`], 1, /no trusted db CA key has fingerprint/],
    [['--type=db-client', '--fingerprint=SHA256:abc'], 2, /invalid --fingerprint "SHA256:abc"/],
    [['--type=db-client', '--fingerprint='], 2, /invalid --fingerprint ""/],
    [[], 2, /--type must be specified/],
    [['--type=krl'], 2, /invalid --type "krl"; allowed values: "host", "user", "db", "db_client", "db-client"/],
    [['--type=db', '--format=crl'], 2, /invalid --format "crl"/],
    [['--type=db', '--ttl=100000h'], 2, /maximum of 87600h/],
  ] as const) {
    const r = run(['auth', 'crl', ...args, '-o', 'x.crl']);
    assert.equal(r.status, code, args.join(' '));
    assert.match(r.stderr, re);
    oneErrorLine(r.stderr);
  }
  assert.ok(!fs.existsSync(path.join(cwd, 'x.crl')));
  // The refusal of DER during a rotation names both ways out.
  const refused = run(['auth', 'crl', '--type=db-client', '-o', 'x.crl']);
  assert.match(refused.stderr, new RegExp(`hint: pick one with --fingerprint=${rotating.next.fingerprint} or --fingerprint=${rotating.current.fingerprint}, or use --format=pem`));
});

test('revoke --serial: text that reads as an SSH decimal serial and a TLS hex serial, matching one of each, is refused as ambiguous', () => {
  const { run, dataDir } = initialisedCa();
  assert.equal(run(['auth', 'sign', '--format=db', '--user=a', '--out=a']).status, 0);
  const log = path.join(dataDir, 'issued.jsonl');
  const tls = JSON.parse(fs.readFileSync(log, 'utf8').trim());
  const state = readJson(path.join(dataDir, 'state.json'));
  // Digit-only serials of 16 to 20 digits read both ways (generated, not one example).
  for (const digits of ['1234567890123456', '99999999999999999', '18446744073709551615', '10000000000000000']) {
    const ssh = { serial: digits, keyId: 'x', type: 'user', principals: ['x'], validAfter: 'x', validBefore: 'forever', caFingerprint: state.authorities.user.current.fingerprint, publicKeyFingerprint: 'SHA256:x', issuedAt: 'x' };
    fs.appendFileSync(log, JSON.stringify(ssh) + '\n' + JSON.stringify({ ...tls, serial: BigInt('0x' + digits).toString(16) }) + '\n');
    const r = run(['auth', 'revoke', `--serial=${digits}`]);
    assert.equal(r.status, 2, digits);
    assert.match(r.stderr, new RegExp(`^tctl: error: serial "${digits}" names both SSH certificate ${digits} and TLS certificate ${BigInt('0x' + digits).toString(16)}\\ntctl: hint: write 0x`));
    const hex = run(['auth', 'revoke', `--serial=0x${digits}`]);
    assert.equal(hex.status, 0, hex.stderr);
    assert.match(hex.stdout, /^Revoked TLS certificate serial/);
  }
});

test('auth inspect on X.509: fields, trust against this data dir, revocation, other CAs and bad files; status shows the TLS CAs', () => {
  const { run, cwd, dataDir } = initialisedCa();
  assert.equal(run(['auth', 'sign', '--format=db', '--host=db.example.com,10.0.0.5', '--out=server']).status, 0);
  const ok = run(['auth', 'inspect', 'server.crt']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /Type: X\.509 leaf certificate\n\s+Subject: CN=db\.example\.com\n/);
  assert.match(ok.stdout, /Signing CA: tls db CA sha256:[0-9a-f]{64}\n/);
  assert.match(ok.stdout, /DNS names: db\.example\.com\n\s+IP addresses: 10\.0\.0\.5\n/);
  // The .cas bundle: two... one CA certificate here, checked as a trusted CA.
  assert.equal(run(['auth', 'inspect', 'server.cas']).status, 0);
  const other = makeCa('ecdsa-p256');
  fs.copyFileSync(makeLeaf(other, 'tls-host', ['x.example.com']).certFile, path.join(cwd, 'foreign.crt'));
  const bad = run(['auth', 'inspect', 'foreign.crt']);
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /^error: unknown-ca: not signed by any trusted CA/m);
  assert.match(bad.stderr, /^tctl: error: 1 certificate has errors$/m);
  assert.equal(run(['auth', 'revoke', '--cert=server.crt']).status, 0);
  const revoked = run(['auth', 'inspect', '--json', 'server.crt']);
  assert.equal(revoked.status, 1);
  const json = JSON.parse(revoked.stdout);
  assert.equal(json[0].certificate.format, 'x509');
  assert.deepEqual(json[0].findings.map((f: { code: string }) => f.code), ['revoked']);
  fs.writeFileSync(path.join(cwd, 'junk.der'), Buffer.from([0x30, 0x03, 1, 2]));
  const junk = run(['auth', 'inspect', 'junk.der']);
  assert.equal(junk.status, 1);
  assert.match(junk.stderr, /^tctl: error: junk\.der: certificate is not valid DER/);

  const status = run(['status']);
  assert.equal(status.status, 0);
  assert.match(status.stdout, /^tls db-client CA\s+rsa-2048\s+sha256:[0-9a-f]{64}\s+\(signs, expires \d{4}-/m);
  assert.match(status.stdout, /^\s+rotation: with the host CA \(standby\)$/m);
  const s = JSON.parse(run(['status', '--json']).stdout);
  assert.deepEqual(Object.keys(s.tls), ['host', 'user', 'db', 'db_client']);
  assert.equal(s.tls.db.fingerprint, readJson(path.join(dataDir, 'state.json')).tls.db.current.fingerprint);
  // A damaged TLS key fails status: scripts poll it to know the CA can sign.
  const keyFile = path.join(dataDir, readJson(path.join(dataDir, 'state.json')).tls.db.current.file);
  fs.writeFileSync(keyFile, fs.readFileSync(path.join(dataDir, readJson(path.join(dataDir, 'state.json')).tls.db_client.current.file)));
  const broken = run(['status']);
  assert.equal(broken.status, 1);
  assert.match(broken.stderr, /does not match .*state\.json/);
});
