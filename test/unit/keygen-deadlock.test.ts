// Node 20 deadlocks when garbage collection destroys a key generation job while a call on the
// key it made holds the key's lock and allocates: asymmetricKeyDetails of an RSA key (how `tctl
// auth init` once hung CI for good) or of a P-256 key (how the key soak once hung CI). A small
// young generation makes collections frequent enough that plain generateKeyPairSync hangs within
// the first few thousand keys here in most runs; src/keys/generate.ts must get through thousands,
// in a child process with a time limit so a hang fails this test.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../helpers/run.js';

const KEYS = 6_000;
const EC_KEYS = 16_000;
const ED25519_KEYS = 20_000;
const TIMEOUT_MS = 120_000;
const generateModule = pathToFileURL(path.join(REPO_ROOT, 'dist', 'src', 'keys', 'generate.js')).href;

/** Runs a key loop in a child with a small young generation; a hang is killed and fails the test. */
function underGcPressure(loop: string): void {
  const script = `
import { generateKey } from ${JSON.stringify(generateModule)};
let junk = [];
const garbage = (i) => {
  // A different amount of garbage each time moves where the young generation fills up.
  for (let j = 0; j < (i * 7) % 61; j++) junk.push({ j, s: 'x'.repeat(10) });
  if (junk.length > 2000) junk = [];
};
${loop}
process.stdout.write('done');
`;
  const r = spawnSync(process.execPath, ['--max-semi-space-size=1', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: TIMEOUT_MS, killSignal: 'SIGKILL' });
  assert.equal(r.signal, null, `killed after ${TIMEOUT_MS / 1000} s: the key generation deadlocked`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'done');
}

test(`${KEYS} RSA keys generated under constant garbage collection, each one's details read: no deadlock`, () => {
  underGcPressure(`
for (let i = 0; i < ${KEYS}; i++) {
  const { privateKey, publicKey } = generateKey({ type: 'rsa', modulusLength: 512 });
  garbage(i);
  if (privateKey.asymmetricKeyDetails.modulusLength !== 512 || publicKey.asymmetricKeyDetails.publicExponent !== 65537n) throw new Error('wrong key');
}`);
});

test(`${EC_KEYS} P-256 keys generated under constant garbage collection, each one's curve read and exported: no deadlock`, () => {
  underGcPressure(`
for (let i = 0; i < ${EC_KEYS}; i++) {
  const { privateKey, publicKey } = generateKey({ type: 'ec', namedCurve: 'P-256' });
  garbage(i);
  if (privateKey.asymmetricKeyDetails.namedCurve !== 'prime256v1' || publicKey.asymmetricKeyDetails.namedCurve !== 'prime256v1') throw new Error('wrong key');
  publicKey.export({ type: 'spki', format: 'der' });
  privateKey.export({ type: 'sec1', format: 'der' });
}`);
});

test(`${ED25519_KEYS} Ed25519 keys (not imported: nothing of theirs allocates under the lock) read and exported under the same pressure: no deadlock`, () => {
  underGcPressure(`
for (let i = 0; i < ${ED25519_KEYS}; i++) {
  const { privateKey, publicKey } = generateKey({ type: 'ed25519' });
  garbage(i);
  if (privateKey.asymmetricKeyType !== 'ed25519' || Object.keys(publicKey.asymmetricKeyDetails).length !== 0) throw new Error('wrong key');
  publicKey.export({ type: 'spki', format: 'der' });
  privateKey.export({ type: 'pkcs8', format: 'der' });
}`);
});
