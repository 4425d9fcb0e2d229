// What comes in from outside: CSRs from `openssl req` (and altered ones), public keys (weak ones
// refused), CRLs checked by openssl, `auth inspect` lint on certificates openssl made, and the
// guarantee that SSH commands never load node-forge.
import assert from 'node:assert/strict';
import { createPublicKey, randomInt } from 'node:crypto';
import { generateKey } from '../../src/keys/generate.js';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { initialisedCa, REPO_ROOT, tctl, tempDir } from '../helpers/run.js';
import { checkPublicKey, createCrl, decodeCertificates, lintX509Certificate, parsePublicKeyInput, spkiDer } from '../../src/x509/index.js';
import { makeCa, makeLeaf, openssl } from './x509-helpers.js';

describe('CSR and public key input', () => {
  const dir = tempDir('tctl-x509-csr-');
  const newCsr = (keyArgs: string[], name: string): string => {
    const r = openssl(['req', '-new', ...keyArgs, '-nodes', '-keyout', path.join(dir, `${name}.key`), '-subj', '/CN=requested', '-out', path.join(dir, `${name}.csr`)]);
    assert.equal(r.status, 0, r.stderr);
    return fs.readFileSync(path.join(dir, `${name}.csr`), 'utf8');
  };

  test('CSRs from openssl req -new (P-256, RSA-2048, Ed25519) are accepted with their key', () => {
    for (const [name, args] of [['ec', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']], ['rsa', ['-newkey', 'rsa:2048']], ['ed', ['-newkey', 'ed25519']]] as const) {
      const parsed = parsePublicKeyInput(newCsr([...args], name));
      assert.equal(parsed.source, 'csr');
      assert.equal(parsed.request?.subjectCommonName, 'requested');
      const expected = createPublicKey(fs.readFileSync(path.join(dir, `${name}.key`)));
      assert.ok(spkiDer(parsed.publicKey).equals(spkiDer(expected)), name);
    }
  });

  test('an altered CSR is refused: 200 single-byte changes, none accepted', () => {
    const pem = newCsr(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'alter');
    const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    let refusedBySignature = 0;
    for (let i = 0; i < 200; i++) {
      const copy = Buffer.from(der);
      const at = randomInt(copy.length);
      copy[at]! ^= 1 << randomInt(8);
      const text = `-----BEGIN CERTIFICATE REQUEST-----\n${copy.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
      assert.throws(() => parsePublicKeyInput(text), (err: Error) => {
        if (/signature does not verify/.test(err.message)) refusedBySignature++;
        return err.name === 'TctlError' || err.constructor.name === 'TctlError';
      }, `byte ${at}`);
    }
    assert.ok(refusedBySignature > 20, `only ${refusedBySignature} refusals came from the signature check`);
  });

  test('a CSR whose signature was made by another key is refused', () => {
    const pem = newCsr(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'swap');
    const other = generateKey({ type: 'ec', namedCurve: 'P-256' });
    const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const spki = spkiDer(createPublicKey(fs.readFileSync(path.join(dir, 'swap.key'))));
    const swapped = Buffer.from(der.toString('hex').replace(spki.toString('hex'), spkiDer(other.publicKey).toString('hex')), 'hex');
    assert.ok(!swapped.equals(der));
    assert.throws(() => parsePublicKeyInput(`-----BEGIN CERTIFICATE REQUEST-----\n${swapped.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`), /signature does not verify/);
  });

  test('weak keys are refused with the reason: RSA < 2048, even or tiny exponents, curves other than P-256/384/521', () => {
    assert.throws(() => parsePublicKeyInput(newCsr(['-newkey', 'rsa:1024'], 'weak')), /RSA key of 1024 bits is too weak/);
    assert.throws(() => parsePublicKeyInput(newCsr(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1'], 'k1')), /EC curve secp256k1 is not allowed/);
    const n = generateKey({ type: 'rsa', modulusLength: 2048 }).publicKey.export({ format: 'jwk' }).n!;
    for (const e of [1n, 2n, 4n, 65536n, 65538n]) {
      const eB64 = Buffer.from(e.toString(16).padStart(e.toString(16).length + (e.toString(16).length % 2), '0'), 'hex').toString('base64url');
      const key = createPublicKey({ key: { kty: 'RSA', n, e: eB64 }, format: 'jwk' });
      assert.throws(() => checkPublicKey(key), /public exponent/, String(e));
    }
    assert.ok(checkPublicKey(generateKey({ type: 'ec', namedCurve: 'P-384' }).publicKey));
  });

  test('PEM public keys are accepted; a private key or a certificate is refused', () => {
    const pub = generateKey({ type: 'ec', namedCurve: 'P-256' });
    assert.equal(parsePublicKeyInput(pub.publicKey.export({ type: 'spki', format: 'pem' }) as string).source, 'public-key');
    assert.throws(() => parsePublicKeyInput(pub.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), /holds a private key/);
    assert.throws(() => parsePublicKeyInput(makeCa('ecdsa-p256').cert.pem), /"CERTIFICATE" PEM block/);
    assert.throws(() => parsePublicKeyInput('ssh-ed25519 AAAA'), /no PEM block/);
  });
});

describe('CRL', () => {
  test('openssl verifies the CRL signature, and verify -crl_check refuses exactly the revoked certificate', () => {
    for (const caType of ['rsa-2048', 'ecdsa-p256'] as const) {
      const ca = makeCa(caType);
      const revoked = makeLeaf(ca, 'db-client', ['alice'], { name: 'revoked' });
      const kept = makeLeaf(ca, 'db-client', ['bob'], { name: 'kept' });
      const now = new Date();
      const crl = createCrl({ thisUpdate: now, nextUpdate: new Date(now.getTime() + 86400e3), number: 7n, revoked: [{ serial: revoked.cert.serial, revokedAt: now }, { serial: 5n, revokedAt: now }] }, ca.issuer);
      const crlFile = path.join(ca.dir, 'ca.crl');
      fs.writeFileSync(crlFile, crl.pem);
      const check = openssl(['crl', '-in', crlFile, '-CAfile', ca.file, '-noout']);
      assert.equal(check.status, 0);
      assert.match(check.stderr + check.stdout, /verify OK/);
      const text = openssl(['crl', '-in', crlFile, '-text', '-noout']).stdout;
      assert.match(text, /Version 2/);
      assert.match(text, /X509v3 CRL Number: \n\s+7\n/);
      assert.match(text, /Serial Number: 05\n[\s\S]*Serial Number: /, 'entries sorted by serial');
      const bundle = path.join(ca.dir, 'bundle.pem');
      fs.writeFileSync(bundle, ca.cert.pem + crl.pem);
      const bad = openssl(['verify', '-crl_check', '-CAfile', bundle, revoked.certFile]);
      assert.notEqual(bad.status, 0);
      assert.match(bad.stdout + bad.stderr, /certificate revoked/);
      assert.equal(openssl(['verify', '-crl_check', '-CAfile', bundle, kept.certFile]).status, 0);
      // A CRL signed by another CA is not accepted for this one.
      const other = makeCa(caType);
      const foreign = openssl(['crl', '-in', crlFile, '-CAfile', other.file, '-noout']);
      assert.match(foreign.stdout + foreign.stderr, /verify fail/i);
    }
  });

  test('an empty CRL omits revokedCertificates and still verifies; bad windows and serials are refused', () => {
    const ca = makeCa('ecdsa-p256');
    const now = new Date();
    const crl = createCrl({ thisUpdate: now, nextUpdate: new Date(now.getTime() + 3600e3), number: 1n, revoked: [] }, ca.issuer);
    const der = path.join(ca.dir, 'empty.crl');
    fs.writeFileSync(der, crl.der);
    assert.equal(openssl(['crl', '-inform', 'DER', '-in', der, '-CAfile', ca.file, '-noout']).status, 0);
    assert.match(openssl(['crl', '-inform', 'DER', '-in', der, '-text', '-noout']).stdout, /No Revoked Certificates/);
    assert.throws(() => createCrl({ thisUpdate: now, nextUpdate: now, number: 1n, revoked: [] }, ca.issuer), /nextUpdate/);
    assert.throws(() => createCrl({ thisUpdate: now, nextUpdate: new Date(now.getTime() + 1), number: 1n, revoked: [{ serial: 0n, revokedAt: now }] }, ca.issuer), /out of range/);
  });
});

describe('lint for auth inspect', () => {
  const ca = makeCa('ecdsa-p256');
  const trusted = decodeCertificates(ca.cert.pem);
  const codes = (file: string, use: 'server' | 'client' | 'auto' = 'auto', now = new Date()) =>
    lintX509Certificate(decodeCertificates(fs.readFileSync(file))[0]!, { now, trustedCas: trusted, use }).map((f) => `${f.level}:${f.code}`);
  const signWithOpenSsl = (name: string, args: string[], keyArgs = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']): string => {
    const csr = path.join(ca.dir, `${name}.csr`);
    assert.equal(openssl(['req', '-new', ...keyArgs, '-nodes', '-keyout', path.join(ca.dir, `${name}.key`), '-subj', `/CN=${name}`, '-out', csr]).status, 0);
    const out = path.join(ca.dir, `${name}.crt`);
    const r = openssl(['x509', '-req', '-in', csr, '-CA', ca.file, '-CAkey', path.join(ca.dir, 'ca.key'), '-out', out, ...args]);
    assert.equal(r.status, 0, r.stderr);
    return out;
  };

  test('our own certificates lint clean; a cert from another CA is unknown-ca; time and EKU findings', () => {
    const host = makeLeaf(ca, 'tls-host', ['h.example.com']);
    const user = makeLeaf(ca, 'tls-user', ['joe']);
    assert.deepEqual(codes(host.certFile), []);
    assert.deepEqual(codes(user.certFile), []);
    assert.deepEqual(codes(ca.file), []);
    assert.deepEqual(codes(user.certFile, 'server'), ['error:missing-san', 'error:wrong-eku']);
    assert.deepEqual(codes(host.certFile, 'client'), ['error:wrong-eku']);
    assert.deepEqual(codes(host.certFile, 'auto', new Date(Date.now() + 2 * 3600e3)), ['error:expired']);
    assert.deepEqual(codes(host.certFile, 'auto', new Date(Date.now() - 3600e3)), ['error:not-yet-valid']);
    const other = makeCa('ecdsa-p256');
    assert.deepEqual(codes(makeLeaf(other, 'tls-user', ['joe']).certFile), ['error:unknown-ca']);
    assert.deepEqual(codes(other.file), ['error:self-signed']);
    const noTrust = lintX509Certificate(decodeCertificates(fs.readFileSync(user.certFile))[0]!, { now: new Date() });
    assert.deepEqual(noTrust.map((f) => f.code), ['trust-not-checked']);
  });

  test('certificates made by openssl: SHA-1, weak key, serial <= 0, outliving the CA, server without SANs', () => {
    assert.ok(codes(signWithOpenSsl('sha1', ['-sha1', '-days', '1'])).includes('error:weak-signature'));
    assert.ok(codes(signWithOpenSsl('rsa1024', ['-days', '1'], ['-newkey', 'rsa:1024'])).includes('error:weak-key'));
    assert.ok(codes(signWithOpenSsl('zero', ['-set_serial', '0', '-days', '1'])).includes('error:bad-serial'));
    assert.ok(codes(signWithOpenSsl('negative', ['-set_serial', '-5', '-days', '1'])).includes('error:bad-serial'));
    assert.ok(codes(signWithOpenSsl('long', ['-days', '5000'])).includes('warning:outlives-ca'));
    assert.deepEqual(codes(signWithOpenSsl('server', ['-days', '1']), 'server'), ['error:missing-san']);
  });
});

describe('node-forge stays off the SSH paths', () => {
  const forgeLoads = (args: string[], env: Record<string, string>, cwd: string) => {
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'tctl'), ...args], { cwd, env: { PATH: process.env.PATH, HOME: cwd, NODE_DEBUG: 'module', ...env }, encoding: 'utf8' });
    return { status: r.status, loads: /node-forge/.test(r.stderr) };
  };

  test('tctl --help and auth export --type=user do not load node-forge', () => {
    const { cwd, dataDir } = initialisedCa();
    assert.deepEqual(forgeLoads(['--help'], {}, cwd), { status: 0, loads: false });
    assert.deepEqual(forgeLoads(['auth', 'export', '--type=user'], { TCTL_DATA_DIR: dataDir }, cwd), { status: 0, loads: false });
    assert.equal(tctl(['--help'], { cwd }).status, 0);
  });

  test('--help, --version and auth export --type=user run no X.509 code; a TLS command does (and then loads forge)', () => {
    const { cwd, dataDir } = initialisedCa();
    // The bundle holds every command, each module behind a function run on its first import
    // (named after its source file): V8's coverage counts which of those ran. NODE_DEBUG=module
    // lists the CommonJS files loaded (forge).
    const ran = (args: string[]) => {
      const coverage = fs.mkdtempSync(path.join(cwd, 'coverage-'));
      const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'tctl'), ...args], {
        cwd, env: { PATH: process.env.PATH, HOME: cwd, TCTL_DATA_DIR: dataDir, NODE_V8_COVERAGE: coverage, NODE_DEBUG: 'module' }, encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      const scripts = fs.readdirSync(coverage).flatMap((f) => (JSON.parse(fs.readFileSync(path.join(coverage, f), 'utf8')) as { result: Array<{ url: string; functions: Array<{ functionName: string; ranges: Array<{ count: number }> }> }> }).result);
      const bundle = scripts.filter((s) => s.url.endsWith(`${path.sep}bundle${path.sep}tctl.cjs`) || s.url.endsWith('/bundle/tctl.cjs'));
      assert.equal(bundle.length, 1, 'the bundled CLI ran');
      const x509 = bundle[0]!.functions.filter((f) => /^src\/x509\/(certificate|decode|csr|crl)\.ts$/.test(f.functionName) && f.ranges[0]!.count > 0);
      return { x509: x509.length > 0, forge: /node-forge/.test(r.stderr) };
    };
    for (const args of [['--help'], ['--version'], ['auth', 'export', '--type=user'], ['auth', 'export'], ['auth', 'sign', '--user=joe', '--out=joe']]) {
      assert.deepEqual(ran(args), { x509: false, forge: false }, args.join(' '));
    }
    // The checks can fail: TLS commands run the X.509 code, and load forge once a certificate is built or read.
    assert.deepEqual(ran(['auth', 'export', '--type=db']), { x509: true, forge: true });
    assert.deepEqual(ran(['auth', 'sign', '--format=tls', '--user=joe', '--out=tlsjoe']), { x509: true, forge: true });
  });

  test('importing src/x509 loads no forge file until a certificate is built (and then only asn1/pem)', () => {
    const index = path.join(REPO_ROOT, 'dist', 'src', 'x509', 'index.js');
    const script = `
      import { createRequire } from 'node:module';
      const x = await import(${JSON.stringify(index)});
      const cache = () => Object.keys(createRequire(${JSON.stringify(index)}).cache).filter((f) => f.includes('node-forge'));
      const before = cache().length;
      const k = x.generateX509Key('ecdsa-p256');
      x.createCaCertificate({ clusterName: 'a.example', signer: x.signerFromKeyObject(k.privateKey), now: new Date() });
      const after = cache().map((f) => f.split('/').pop()).sort();
      console.log(JSON.stringify({ before, after }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const { before, after } = JSON.parse(r.stdout) as { before: number; after: string[] };
    assert.equal(before, 0);
    assert.ok(after.includes('asn1.js'));
    assert.ok(!after.includes('index.js') && !after.includes('rsa.js') && !after.includes('x509.js'), after.join(' '));
  });
});
