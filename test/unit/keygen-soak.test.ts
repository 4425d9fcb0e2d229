// The whole key path (generate, SSH public key, OpenSSH private key, details) 30,000 times in one
// child process, with a time limit: Node 20 can hang for good when garbage collection destroys a
// key generation job while one of its keys is being read (keygen-deadlock.test.ts shows it for
// RSA; src/keys/generate.ts is the fix), and this is the same path at the volume of a long batch.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../helpers/run.js';

const ED25519_KEYS = 30_000;
const ECDSA_KEYS = 2_000;
const RSA_KEYS = 10;
const X509_RSA_KEYS = 30;
/** About 10x what it takes on a loaded 2-core machine; a hang never gets there. */
const TIMEOUT_MS = 300_000;

const keysModule = pathToFileURL(path.join(REPO_ROOT, 'dist', 'src', 'ssh', 'keys.js')).href;
const x509Module = pathToFileURL(path.join(REPO_ROOT, 'dist', 'src', 'x509', 'keys.js')).href;
const script = `
import { generatePrivateKey, openSshPrivateKey, sshPublicKey } from ${JSON.stringify(keysModule)};
import { generateX509Key } from ${JSON.stringify(x509Module)};
const t0 = process.hrtime.bigint();
let bytes = 0;
for (const [type, n] of [['ed25519', ${ED25519_KEYS}], ['ecdsa', ${ECDSA_KEYS}], ['rsa', ${RSA_KEYS}]]) {
  for (let i = 0; i < n; i++) {
    const key = generatePrivateKey(type);
    bytes += sshPublicKey(key).blob.length + openSshPrivateKey(key, 'soak').length + Object.keys(key.asymmetricKeyDetails).length;
  }
}
for (let i = 0; i < ${X509_RSA_KEYS}; i++) {
  const { privateKey, publicKey } = generateX509Key('rsa-2048');
  bytes += privateKey.asymmetricKeyDetails.modulusLength / 8 + publicKey.export({ type: 'spki', format: 'der' }).length;
}
process.stdout.write(JSON.stringify({ ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes }));
`;

test(`${ED25519_KEYS} ed25519 (+ ${ECDSA_KEYS} ecdsa, ${RSA_KEYS} + ${X509_RSA_KEYS} rsa) generate + export in one process finish in bounded time`, () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: TIMEOUT_MS, killSignal: 'SIGKILL' });
  assert.equal(r.error, undefined, `the soak did not finish within ${TIMEOUT_MS / 1000}s (a hang?): ${String(r.error)}`);
  assert.equal(r.signal, null, `the soak was killed by ${r.signal} after ${TIMEOUT_MS / 1000}s: a hang on the key path`);
  assert.equal(r.status, 0, r.stderr);
  const { ms, bytes } = JSON.parse(r.stdout) as { ms: number; bytes: number };
  assert.ok(bytes > ED25519_KEYS * 300, 'every key produced a public and a private key');
  // Shown in the test output so the time can be compared across runs.
  console.log(`keygen soak: ${(ms / 1000).toFixed(1)} s`);
});
