// CA keys generated and used inside a SoftHSM2 token: SSH certificates that ssh-keygen reads,
// X.509 certificates that openssl verifies, keys that cannot be read out, and one clear error
// for each way opening the token can fail.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isolatedTest } from '../helpers/isolated.js';
import type * as P11 from 'pkcs11js';
import { toSshSigner, toX509Signer } from '../../src/keys/adapters.js';
import { Pkcs11Token } from '../../src/keys/pkcs11.js';
import type { CaKeyType } from '../../src/keys/signer.js';
import { TctlError } from '../../src/errors.js';
import { FOREVER, parseCertificate, signCertificate } from '../../src/ssh/certificate.js';
import { generatePrivateKey, sshPublicKey, sshVerify } from '../../src/ssh/keys.js';
import { createCaCertificate, generateX509Key, issueLeafCertificate, issuerFromCertificate } from '../../src/x509/index.js';
import { openssh } from '../helpers/run.js';
import { SOFTHSM_MODULE, softHsmToken, type TestToken } from '../helpers/softhsm.js';

const skip = SOFTHSM_MODULE ? false : 'softhsm2 is not installed';
const config = (t: TestToken) => ({ modulePath: t.modulePath, tokenLabel: t.label, pinPath: t.pinFile });

function withToken<T>(t: TestToken, fn: (token: Pkcs11Token) => T): T {
  const token = Pkcs11Token.open(config(t));
  try {
    return fn(token);
  } finally {
    token.close();
  }
}

function tctlError(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof TctlError, `a TctlError, not ${String(err)}`);
    assert.equal(err.kind, 'failure');
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'));
    return true;
  };
}

const TYPES: CaKeyType[] = ['ed25519', 'ecdsa-p256', 'ecdsa-p384', 'rsa'];

for (const keyType of TYPES) {
  isolatedTest(import.meta.url, `${keyType} CA key generated in the token signs SSH certificates ssh-keygen reads${keyType === 'ecdsa-p384' ? '' : ' and X.509 certificates openssl verifies'}`, { skip }, () => {
    // In-process keys first, then the module (see bench/keys.ts: never generate after loading it).
    const userKey = sshPublicKey(generatePrivateKey('ed25519'));
    const leafKey = generateX509Key('ecdsa-p256');
    const hsm = softHsmToken();
    const id = withToken(hsm, (token) => token.generateKey(keyType, { clusterName: 'example.com', caType: 'user', rsaBits: 2048 }).ref.id);
    assert.match(id, /^tctl:example\.com:user:[0-9a-f]{16}$/);
    // A new session (a later command) finds the key by its id alone.
    withToken(hsm, (token) => {
      const signer = token.findKey(id);
      assert.equal(signer.keyType, keyType);
      assert.deepEqual(signer.location, { kind: 'pkcs11', token: `token "${hsm.label}"`, id, label: 'tctl user CA example.com' });
      assert.equal(signer.privateKey, undefined);
      assert.deepEqual(token.keyProtection(id), { sensitive: true, extractable: false, neverExtractable: true, alwaysSensitive: true });

      const ssh = toSshSigner(signer);
      for (let i = 0; i < 20; i++) {
        const data = Buffer.from(`data ${i}`);
        assert.equal(sshVerify(ssh.publicKey.blob, data, ssh.sign(data)).ok, true);
      }
      const body = {
        key: userKey, nonce: Buffer.alloc(32, 1), serial: 7n, type: 'user' as const, keyId: 'joe',
        principals: ['joe'], validAfter: 0n, validBefore: FOREVER, criticalOptions: [], extensions: [{ name: 'permit-pty', value: '' }],
      };
      const cert = signCertificate(body, ssh);
      assert.deepEqual(parseCertificate(cert).signatureKey, ssh.publicKey.blob);
      const file = path.join(hsm.dir, 'joe-cert.pub');
      fs.writeFileSync(file, `ssh-ed25519-cert-v01@openssh.com ${cert.toString('base64')}\n`);
      const l = openssh('ssh-keygen', ['-L', '-f', file]);
      assert.equal(l.status, 0, l.stderr);
      assert.match(l.stdout, new RegExp(`\\(using ${keyType === 'rsa' ? 'rsa-sha2-512' : ssh.publicKey.type}\\)`));

      if (keyType === 'ecdsa-p384') return;
      const x509 = toX509Signer(signer);
      const now = new Date();
      const ca = createCaCertificate({ clusterName: 'example.com', signer: x509, now });
      const leaf = issueLeafCertificate({ profile: 'tls-host', publicKey: leafKey.publicKey, names: ['db.example.com'], ttlSeconds: 3600 }, issuerFromCertificate(ca.der, x509), { now });
      fs.writeFileSync(path.join(hsm.dir, 'ca.crt'), ca.pem);
      fs.writeFileSync(path.join(hsm.dir, 'leaf.crt'), leaf.pem);
      const v = spawnSync('openssl', ['verify', '-CAfile', 'ca.crt', 'leaf.crt'], { cwd: hsm.dir, encoding: 'utf8' });
      assert.equal(v.status, 0, v.stderr);
      assert.match(v.stdout, /leaf\.crt: OK/);
    });
  });
}

isolatedTest(import.meta.url, 'the private key cannot be read out of the token (C_GetAttributeValue refused)', { skip }, () => {
  const hsm = softHsmToken();
  const ids = withToken(hsm, (token) => TYPES.map((t) => token.generateKey(t, { clusterName: 'example.com', caType: 'host', rsaBits: 2048 }).ref.id));
  // Straight through the binding, as an attacker holding the PIN would try.
  const p11 = createRequire(import.meta.url)('pkcs11js') as typeof P11;
  const lib = new p11.PKCS11();
  lib.load(hsm.modulePath);
  lib.C_Initialize();
  try {
    const session = lib.C_OpenSession(lib.C_GetSlotList(true)[0]!, p11.CKF_SERIAL_SESSION | p11.CKF_RW_SESSION);
    lib.C_Login(session, p11.CKU_USER, hsm.pin);
    for (const id of ids) {
      lib.C_FindObjectsInit(session, [{ type: p11.CKA_CLASS, value: p11.CKO_PRIVATE_KEY }, { type: p11.CKA_ID, value: Buffer.from(id) }]);
      const [handle] = lib.C_FindObjects(session, 2);
      lib.C_FindObjectsFinal(session);
      assert.ok(handle, id);
      for (const attr of [p11.CKA_VALUE, p11.CKA_PRIVATE_EXPONENT, p11.CKA_PRIME_1]) {
        assert.throws(() => lib.C_GetAttributeValue(session, handle, [{ type: attr }]), /CKR_ATTRIBUTE_SENSITIVE|CKR_ATTRIBUTE_TYPE_INVALID/);
      }
      // Wrapping it out is refused too: the key is not extractable.
      assert.throws(() => lib.C_SetAttributeValue(session, handle, [{ type: p11.CKA_EXTRACTABLE, value: true }]), /CKR_ATTRIBUTE_READ_ONLY|CKR_ATTRIBUTE_VALUE_INVALID/);
    }
    // And nothing in the token directory is a private key in the clear.
    const files = fs.readdirSync(path.join(hsm.dir, 'tokens'), { recursive: true, encoding: 'utf8' });
    for (const f of files) {
      const full = path.join(hsm.dir, 'tokens', f);
      if (fs.statSync(full).isFile()) assert.ok(!fs.readFileSync(full, 'latin1').includes('PRIVATE KEY'));
    }
  } finally {
    lib.C_Finalize();
  }
});

isolatedTest(import.meta.url, 'wrong PIN, missing module, missing token, missing key, wrong slot: one clear error each', { skip }, () => {
  const hsm = softHsmToken('tctl-errors');
  fs.writeFileSync(path.join(hsm.dir, 'bad-pin'), '000000\n');
  assert.throws(() => Pkcs11Token.open({ ...config(hsm), pinPath: path.join(hsm.dir, 'bad-pin') }), tctlError(/^wrong PIN for PKCS#11 token "tctl-errors"$/));
  assert.throws(() => Pkcs11Token.open({ ...config(hsm), modulePath: path.join(hsm.dir, 'nope.so') }), tctlError(/^PKCS#11 module .*nope\.so not found$/));
  fs.writeFileSync(path.join(hsm.dir, 'not-a-module.so'), 'garbage');
  assert.throws(() => Pkcs11Token.open({ ...config(hsm), modulePath: path.join(hsm.dir, 'not-a-module.so') }), tctlError(/^cannot load PKCS#11 module .*not-a-module\.so/));
  assert.throws(() => Pkcs11Token.open({ ...config(hsm), tokenLabel: 'other' }), (err: unknown) => {
    tctlError(/^PKCS#11 token "other" not found in /)(err);
    assert.match((err as TctlError).hint!, /tokens present: "tctl-errors"/);
    return true;
  });
  assert.throws(() => Pkcs11Token.open({ modulePath: hsm.modulePath, slotNumber: 999999, pinPath: hsm.pinFile }), tctlError(/^PKCS#11 slot 999999 not found/));
  assert.throws(() => Pkcs11Token.open({ ...config(hsm), pinPath: path.join(hsm.dir, 'no-pin-file') }), tctlError(/^cannot read PKCS#11 PIN file .*no such file/));
  withToken(hsm, (token) => {
    assert.throws(() => token.findKey('tctl:example.com:user:0000000000000000'), tctlError(/^CA key "tctl:example.com:user:0000000000000000" not found in PKCS#11 token "tctl-errors"$/));
    const { ref } = token.generateKey('ed25519', { clusterName: 'example.com', caType: 'user' });
    token.destroyKey(ref.id);
    assert.throws(() => token.findKey(ref.id), tctlError(/not found in PKCS#11/));
    assert.throws(() => token.generateKey('ed25519', { clusterName: 'not a name', caType: 'user' }), /invalid --cluster-name/);
  });
  // After the failures the right PIN still works (SoftHSM has no retry counter; real tokens do, hence the hint).
  withToken(hsm, (token) => assert.equal(token.generateKey('ecdsa-p256', { clusterName: 'example.com', caType: 'user' }).keyType, 'ecdsa-p256'));
});

isolatedTest(import.meta.url, 'a slot number picks the token too, and a closed session refuses to sign', { skip }, () => {
  const hsm = softHsmToken();
  const p11 = createRequire(import.meta.url)('pkcs11js') as typeof P11;
  const lib = new p11.PKCS11();
  lib.load(hsm.modulePath);
  lib.C_Initialize();
  const slot = lib.C_GetSlotList(true)[0]!.readUIntLE(0, 6);
  lib.C_Finalize();
  const token = Pkcs11Token.open({ modulePath: hsm.modulePath, slotNumber: slot, pin: hsm.pin });
  const signer = token.generateKey('ed25519', { clusterName: 'example.com', caType: 'user' });
  token.close();
  assert.throws(() => signer.signRaw('ed25519', Buffer.alloc(1)), /the PKCS#11 session is closed/);
});
