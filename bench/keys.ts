// `npm run bench:keys`: SSH signatures per second from CA keys in a SoftHSM2 token against the
// same key types in this process, measured in the same run (these machines are noisy).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { toSshSigner } from '../src/keys/adapters.js';
import { generateKey } from '../src/keys/generate.js';
import { Pkcs11Token } from '../src/keys/pkcs11.js';
import { type CaKeyType, inProcessSigner } from '../src/keys/signer.js';

const MODULE = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'].find((p) => fs.existsSync(p));
if (!MODULE) throw new Error('softhsm2 is not installed');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tctl-bench-hsm-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
fs.mkdirSync(path.join(dir, 'tokens'));
process.env.SOFTHSM2_CONF = path.join(dir, 'softhsm2.conf');
fs.writeFileSync(process.env.SOFTHSM2_CONF, `directories.tokendir = ${path.join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
const init = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--pin', '123456', '--so-pin', '87654321'], { encoding: 'utf8' });
if (init.status !== 0) throw new Error(init.stderr);

function rate(sign: (d: Buffer) => Buffer, seconds = 1.5): number {
  const data = randomBytes(400); // about an SSH certificate's to-be-signed bytes
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(seconds * 1e9);
  while (process.hrtime.bigint() < end) {
    sign(data);
    n++;
  }
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

// The in-process keys are generated before the PKCS#11 module is loaded: node's own OpenSSL and
// the libcrypto SoftHSM links are then never both generating keys in one process (tctl keeps
// the same order: leaf keys are made before a command opens the token).
const local: Record<Exclude<CaKeyType, "ecdsa-p384">, ReturnType<typeof inProcessSigner>> = {
  ed25519: inProcessSigner(generateKey({ type: 'ed25519' }).privateKey),
  'ecdsa-p256': inProcessSigner(generateKey({ type: 'ec', namedCurve: 'P-256' }).privateKey),
  rsa: inProcessSigner(generateKey({ type: 'rsa', modulusLength: 3072 }).privateKey),
};
const token = Pkcs11Token.open({ modulePath: MODULE, tokenLabel: 'bench', pin: '123456' });
console.log('SSH signatures per second (rsa: 3072 bits, rsa-sha2-512)');
console.log('key type     in-process   SoftHSM2   ratio');
for (const type of ['ed25519', 'ecdsa-p256', 'rsa'] as const) {
  const mem = rate(toSshSigner(local[type]).sign);
  const hsm = rate(toSshSigner(token.generateKey(type, { clusterName: 'bench.example.com', caType: 'user' })).sign);
  console.log(`${type.padEnd(12)} ${mem.toFixed(0).padStart(10)} ${hsm.toFixed(0).padStart(10)}   ${(hsm / mem).toFixed(2)}x`);
}
token.close();
