// Node 20 can hang forever in generateKeyPairSync followed by a JWK export (a KeyGenJob
// destructor run by GC inside the export). tctl's key path uses DER only; this soak runs that
// path 100,000 times in one child process and fails if it does not finish in bounded time.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../helpers/run.js';

const ED25519_KEYS = 100_000;
const ECDSA_KEYS = 2_000;
const RSA_KEYS = 10;
/** About 10x what it takes on a loaded 2-core machine; a hang never gets there. */
const TIMEOUT_MS = 300_000;

const keysModule = pathToFileURL(path.join(REPO_ROOT, 'dist', 'src', 'ssh', 'keys.js')).href;
const script = `
import { generatePrivateKey, openSshPrivateKey, sshPublicKey } from ${JSON.stringify(keysModule)};
const t0 = process.hrtime.bigint();
let bytes = 0;
for (const [type, n] of [['ed25519', ${ED25519_KEYS}], ['ecdsa', ${ECDSA_KEYS}], ['rsa', ${RSA_KEYS}]]) {
  for (let i = 0; i < n; i++) {
    const key = generatePrivateKey(type);
    bytes += sshPublicKey(key).blob.length + openSshPrivateKey(key, 'soak').length;
  }
}
process.stdout.write(JSON.stringify({ ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes }));
`;

test(`${ED25519_KEYS} ed25519 (+ ${ECDSA_KEYS} ecdsa, ${RSA_KEYS} rsa) generate + export in one process finish in bounded time`, () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: TIMEOUT_MS, killSignal: 'SIGKILL' });
  assert.equal(r.error, undefined, `the soak did not finish within ${TIMEOUT_MS / 1000}s (a hang?): ${String(r.error)}`);
  assert.equal(r.signal, null, `the soak was killed by ${r.signal} after ${TIMEOUT_MS / 1000}s: a hang on the key path`);
  assert.equal(r.status, 0, r.stderr);
  const { ms, bytes } = JSON.parse(r.stdout) as { ms: number; bytes: number };
  assert.ok(bytes > ED25519_KEYS * 300, 'every key produced a public and a private key');
  // Shown in the test output so the time can be compared across runs.
  console.log(`keygen soak: ${(ms / 1000).toFixed(1)} s`);
});
