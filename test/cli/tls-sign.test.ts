// auth sign with the TLS formats: each format's files, modes and contents checked by openssl,
// CSR and PEM public-key input, and refusals that leave no file and log nothing.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initialisedCa } from '../helpers/run.js';
import { openssl } from '../unit/x509-helpers.js';

const mode = (p: string) => fs.statSync(p).mode & 0o777;
const text = (cwd: string, file: string) => openssl(['x509', '-in', file, '-noout', '-text'], { cwd }).stdout;
const verify = (cwd: string, cas: string, cert: string) => openssl(['verify', '-CAfile', cas, cert], { cwd });
const issued = (dataDir: string) => (fs.existsSync(path.join(dataDir, 'issued.jsonl')) ? fs.readFileSync(path.join(dataDir, 'issued.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : []);
const oneErrorLine = (stderr: string) => assert.equal(stderr.split('\n').filter((l) => l.startsWith('tctl: error:')).length, 1, stderr);

test('--format=tls and --format=db: key 0600, certificate and .cas of the peer CA, names, EKUs; each verifies against the other side\'s .cas', () => {
  const { run, cwd, dataDir } = initialisedCa();
  const cases: Array<[string[], string, RegExp, RegExp, string]> = [
    [['--format=tls', '--user=joe'], 'joe', /Subject: CN ?= ?joe/, /TLS Web Client Authentication$/m, 'EC'],
    [['--format=tls', '--host=API.example.com,10.0.0.5,2001:db8::1'], 'api.example.com', /DNS:api\.example\.com, IP Address:10\.0\.0\.5, IP Address:2001:DB8:0:0:0:0:0:1/, /TLS Web Server Authentication$/m, 'EC'],
    [['--format=db', '--host=db.example.com,10.0.0.6', '--out=server'], 'server', /DNS:db\.example\.com, IP Address:10\.0\.0\.6/, /TLS Web Server Authentication, TLS Web Client Authentication/, 'RSA'],
    [['--format=db', '--user=alice'], 'alice', /Subject: CN ?= ?alice/, /TLS Web Client Authentication$/m, 'RSA'],
    [['--format=redis', '--host=redis.example.com', '--out=redis'], 'redis', /DNS:redis\.example\.com/, /Server Authentication/, 'RSA'],
    [['--format=tls', '--user=joe2', '--key-type=rsa'], 'joe2', /CN ?= ?joe2/, /Client Authentication/, 'RSA'],
  ];
  for (const [args, out, names, eku, keyKind] of cases) {
    const r = run(['auth', 'sign', ...args]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `The credentials have been written to ${out}.key, ${out}.crt, ${out}.cas\n`);
    assert.equal(r.stderr, '');
    assert.equal(mode(path.join(cwd, `${out}.key`)), 0o600);
    assert.equal(mode(path.join(cwd, `${out}.crt`)), 0o644);
    const t = text(cwd, `${out}.crt`);
    assert.match(t, names, out);
    assert.match(t, eku, out);
    assert.match(fs.readFileSync(path.join(cwd, `${out}.key`), 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(openssl(['pkey', '-in', `${out}.key`, '-noout', '-text'], { cwd }).stdout.includes(keyKind === 'RSA' ? 'Private-Key: (2048 bit' : 'ASN1 OID: prime256v1'), true, out);
    // keyEncipherment only for RSA keys.
    assert.equal(/Key Encipherment/.test(t), keyKind === 'RSA', out);
    // Every IP is an IP SAN and never a DNS name.
    assert.doesNotMatch(t, /DNS:\d+\.\d+\.\d+\.\d+|DNS:2001/);
  }
  // A client's .cas is the server CA, and the other way round.
  assert.equal(verify(cwd, 'joe.cas', 'api.example.com.crt').status, 0);
  assert.equal(verify(cwd, 'api.example.com.cas', 'joe.crt').status, 0);
  assert.equal(verify(cwd, 'alice.cas', 'server.crt').status, 0);
  assert.equal(verify(cwd, 'server.cas', 'alice.crt').status, 0);
  // The CAs are kept apart: a cert never verifies against another CA's bundle.
  assert.notEqual(verify(cwd, 'joe.cas', 'server.crt').status, 0);
  assert.notEqual(verify(cwd, 'server.cas', 'joe.crt').status, 0);
  assert.notEqual(verify(cwd, 'alice.cas', 'api.example.com.crt').status, 0);
  // The issuance log: one x509 record each, serial in hex, what the certificate says.
  const log = issued(dataDir);
  assert.equal(log.length, cases.length);
  const server = log[2];
  assert.deepEqual(Object.keys(server), ['serial', 'format', 'ca', 'type', 'keyId', 'principals', 'validAfter', 'validBefore', 'caFingerprint', 'publicKeyFingerprint', 'issuedAt']);
  assert.deepEqual([server.format, server.ca, server.type, server.keyId, server.principals], ['x509', 'db', 'db-server', 'db.example.com', ['db.example.com', '10.0.0.6']]);
  const serial = openssl(['x509', '-in', 'server.crt', '-noout', '-serial'], { cwd }).stdout.trim().replace(/^serial=/, '').toLowerCase().replace(/^0+/, '');
  assert.equal(server.serial, serial);
  assert.ok(server.serial.length >= 16, 'at least 64 bits');
  // 12h by default, back-dated a minute.
  assert.equal(Date.parse(server.validBefore) - Date.parse(server.validAfter), 12 * 3600e3 + 60e3);
});

test('mongodb: certificate then key in one 0600 file; cockroachdb: a certs dir with node.crt (CN=node), node.key, ca.crt, ca-client.crt', () => {
  const { run, cwd } = initialisedCa();
  const m = run(['auth', 'sign', '--format=mongodb', '--host=mongo.example.com', '--out=mongo']);
  assert.equal(m.status, 0, m.stderr);
  assert.equal(m.stdout, 'The credentials have been written to mongo.crt, mongo.cas\n');
  assert.equal(mode(path.join(cwd, 'mongo.crt')), 0o600);
  assert.match(fs.readFileSync(path.join(cwd, 'mongo.crt'), 'utf8'), /^-----BEGIN CERTIFICATE-----\n[^]*-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n[^]*-----END PRIVATE KEY-----\n$/);
  assert.equal(openssl(['pkey', '-in', 'mongo.crt', '-noout'], { cwd }).status, 0);
  const c = run(['auth', 'sign', '--format=cockroachdb', '--host=node1.example.com,10.0.0.7', '--out=certs']);
  assert.equal(c.status, 0, c.stderr);
  assert.equal(c.stdout, `The credentials have been written to ${['node.crt', 'node.key', 'ca.crt', 'ca-client.crt'].map((f) => path.join('certs', f)).join(', ')}\n`);
  assert.equal(mode(path.join(cwd, 'certs')), 0o700);
  assert.equal(mode(path.join(cwd, 'certs', 'node.key')), 0o600);
  assert.match(text(cwd, 'certs/node.crt'), /Subject: CN ?= ?node\n[^]*DNS:node1\.example\.com, IP Address:10\.0\.0\.7/);
  assert.equal(verify(cwd, 'certs/ca.crt', 'certs/node.crt').status, 0);
  assert.notEqual(verify(cwd, 'certs/ca-client.crt', 'certs/node.crt').status, 0);
  const db = run(['auth', 'export', '--type=db']).stdout;
  assert.equal(fs.readFileSync(path.join(cwd, 'certs', 'ca.crt'), 'utf8'), db);
  assert.equal(fs.readFileSync(path.join(cwd, 'certs', 'ca-client.crt'), 'utf8'), run(['auth', 'export', '--type=db-client']).stdout);
});

test('--public-key: a PKCS#10 CSR (signature checked) or a PEM public key; only the certificate and .cas are written', () => {
  const { run, cwd, dataDir } = initialisedCa();
  assert.equal(openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'pg.key', '-subj', '/CN=ignored', '-out', 'pg.csr'], { cwd }).status, 0);
  const r = run(['auth', 'sign', '--format=db', '--host=pg.example.com', '--public-key=pg.csr', '--out=pg']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'The credentials have been written to pg.crt, pg.cas\n');
  assert.ok(!fs.existsSync(path.join(cwd, 'pg.key.new')));
  // The certificate is for the CSR's key, with the names from the command line.
  const certKey = openssl(['x509', '-in', 'pg.crt', '-noout', '-pubkey'], { cwd }).stdout;
  assert.equal(certKey, openssl(['pkey', '-in', 'pg.key', '-pubout'], { cwd }).stdout);
  assert.match(text(cwd, 'pg.crt'), /Subject: CN ?= ?pg\.example\.com/);
  assert.equal(openssl(['pkey', '-in', 'pg.key', '-pubout', '-out', 'pub.pem'], { cwd }).status, 0);
  const p = run(['auth', 'sign', '--format=tls', '--user=svc', '--public-key=pub.pem']);
  assert.equal(p.status, 0, p.stderr);
  assert.equal(p.stdout, 'The credentials have been written to svc.crt, svc.cas\n');
  // A CSR whose signature does not verify, a private key, a weak key: refused, nothing logged.
  const csr = fs.readFileSync(path.join(cwd, 'pg.csr'), 'utf8');
  const der = Buffer.from(csr.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  der[der.length - 10]! ^= 1;
  fs.writeFileSync(path.join(cwd, 'bad.csr'), `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`);
  assert.equal(openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', 'weak.key'], { cwd }).status, 0);
  assert.equal(openssl(['pkey', '-in', 'weak.key', '-pubout', '-out', 'weak.pub'], { cwd }).status, 0);
  const before = issued(dataDir).length;
  for (const [file, re] of [
    ['bad.csr', /invalid --public-key bad\.csr: certificate request (signature does not verify|is malformed)/],
    ['pg.key', /invalid --public-key pg\.key: public key file holds a private key/],
    ['weak.pub', /invalid --public-key weak\.pub: refusing public key: RSA key of 1024 bits is too weak/],
  ] as const) {
    const bad = run(['auth', 'sign', '--format=db', '--host=x.example.com', `--public-key=${file}`, '--out=x']);
    assert.equal(bad.status, 1, file);
    assert.match(bad.stderr, re);
    oneErrorLine(bad.stderr);
    assert.ok(!fs.existsSync(path.join(cwd, 'x.crt')) && !fs.existsSync(path.join(cwd, 'x.cas')));
  }
  assert.equal(issued(dataDir).length, before);
});

test('refusals: exit code, one error line, no files, nothing logged', () => {
  const { run, cwd, dataDir } = initialisedCa();
  fs.writeFileSync(path.join(cwd, 'taken.crt'), 'mine\n');
  const cases: Array<[string[], number, RegExp]> = [
    [['--format=db'], 2, /^tctl: error: at least one hostname must be specified$/m],
    [['--format=mongodb'], 2, /at least one hostname must be specified/],
    [['--format=tls'], 2, /--user or --host must be specified/],
    [['--format=db', '--user=a', '--host=b.example.com'], 2, /--user or --host must be specified/],
    [['--format=tls', '--user=joe', '--principals=root'], 2, /--principals does not apply to --format=tls/],
    [['--format=db', '--user=joe', '--force-command=ls'], 2, /--force-command does not apply/],
    [['--format=db', '--user=joe', '--source-address=10.0.0.0/8'], 2, /--source-address does not apply/],
    [['--format=db', '--user=joe', '--compat=oldssh'], 2, /--compat does not apply/],
    [['--format=tls', '--batch=x', '--out-dir=o'], 2, /--batch does not apply to --format=tls/],
    [['--format=tls', '--user=joe', '--key-type=ed25519'], 2, /--key-type=ed25519 is refused for TLS certificates/],
    [['--format=tls', '--user=joe', '--key-type=dsa'], 2, /invalid --key-type "dsa"; allowed values: "ecdsa", "rsa"/],
    [['--format=db', '--host=*.example.com'], 2, /wildcards are not allowed/],
    [['--format=db', '--host=010.0.0.1'], 2, /ambiguous IPv4 address/],
    [['--format=db', '--host=a.example.com,,b'], 2, /empty entry/],
    [['--format=db', '--user=a,b'], 2, /must not contain ","/],
    [['--format=db', `--user=${'a'.repeat(65)}`], 1, /longer than 64 characters/],
    [['--format=db', '--user=joe', '--ttl=100000h'], 2, /maximum of 87600h/],
    [['--format=mongodb', '--user=joe'], 2, /--format=mongodb writes a database server's files: give --host/],
    [['--format=mongodb', '--host=m.example.com', '--public-key=x.pem'], 2, /--public-key does not apply to --format=mongodb/],
    [['--format=db', '--host=a.example.com', '--out=taken'], 1, /destination file\(s\) taken\.crt exist/],
    [['--format=db', '--host=a.example.com', '--out=no/such/dir/a'], 1, /directory no\/such\/dir does not exist/],
    [['--format=db', '--host=a.example.com', '--public-key=missing.pem'], 1, /cannot read --public-key missing\.pem: no such file/],
  ];
  for (const [args, code, re] of cases) {
    const r = run(['auth', 'sign', ...args]);
    assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    oneErrorLine(r.stderr);
    assert.equal(r.stdout, '');
  }
  assert.deepEqual(fs.readdirSync(cwd).sort(), ['ca', 'taken.crt']);
  assert.equal(fs.readFileSync(path.join(cwd, 'taken.crt'), 'utf8'), 'mine\n');
  assert.deepEqual(issued(dataDir), []);
  // --overwrite replaces, with the longest --ttl (the CA certificate, 10 years, outlives it).
  const ok = run(['auth', 'sign', '--format=db', '--host=a.example.com', '--out=taken', '--overwrite', '--ttl=87600h']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stderr, '');
  assert.match(text(cwd, 'taken.crt'), /DNS:a\.example\.com/);
});

test('during a rotation .cas carries both CA certificates, and certificates from the new key verify against it', () => {
  const { run, cwd } = initialisedCa();
  assert.equal(run(['auth', 'sign', '--format=db', '--user=old', '--out=old']).status, 0);
  assert.equal(run(['auth', 'rotate', '--type=db_client', '--manual', '--phase=init']).status, 0);
  assert.equal(run(['auth', 'sign', '--format=db', '--host=db.example.com', '--out=server']).status, 0);
  assert.equal(fs.readFileSync(path.join(cwd, 'server.cas'), 'utf8').match(/BEGIN CERTIFICATE/g)?.length, 2);
  assert.equal(run(['auth', 'rotate', '--type=db-client', '--manual', '--phase=update_clients']).status, 0);
  assert.equal(run(['auth', 'sign', '--format=db', '--user=new', '--out=new']).status, 0);
  assert.equal(verify(cwd, 'server.cas', 'old.crt').status, 0);
  assert.equal(verify(cwd, 'server.cas', 'new.crt').status, 0);
  // The host CA rotates its SSH and TLS keys together.
  assert.equal(run(['auth', 'rotate', '--type=host', '--manual', '--phase=init']).status, 0);
  assert.equal(run(['auth', 'export', '--type=host']).stdout.trim().split('\n').length, 2);
  assert.equal(run(['auth', 'export', '--type=tls-host']).stdout.match(/BEGIN CERTIFICATE/g)?.length, 2);
  assert.equal(run(['auth', 'sign', '--format=tls', '--user=joe']).status, 0);
  assert.equal(fs.readFileSync(path.join(cwd, 'joe.cas'), 'utf8').match(/BEGIN CERTIFICATE/g)?.length, 2);
});
