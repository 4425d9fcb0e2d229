// A SoftHSM2 token in a temp dir: its own SOFTHSM2_CONF and token directory, so tests never see
// the machine's tokens or each other's. SoftHSM reads SOFTHSM2_CONF when the module initialises,
// so the variable is set in this process before a test opens the token.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from './run.js';

const CANDIDATES = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so', '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so', '/usr/local/lib/softhsm/libsofthsm2.so'];

/** The SoftHSM2 module, or undefined when softhsm2 is not installed. */
export const SOFTHSM_MODULE = process.env.SOFTHSM2_MODULE ?? CANDIDATES.find((p) => fs.existsSync(p));

export interface TestToken {
  dir: string;
  modulePath: string;
  label: string;
  pin: string;
  pinFile: string;
}

/** Initialises a fresh token (user PIN 1234-style, random per call) and points SOFTHSM2_CONF at it. */
export function softHsmToken(label = 'tctl-test'): TestToken {
  if (!SOFTHSM_MODULE) throw new Error('softhsm2 is not installed');
  const dir = tempDir('tctl-hsm-');
  fs.mkdirSync(path.join(dir, 'tokens'));
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${path.join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = conf;
  const pin = String(100000 + Math.floor(Math.random() * 899999));
  const r = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', '87654321'], { encoding: 'utf8', env: { ...process.env, SOFTHSM2_CONF: conf } });
  if (r.status !== 0) throw new Error(`softhsm2-util --init-token failed: ${r.stderr}${r.stdout}`);
  const pinFile = path.join(dir, 'pin');
  fs.writeFileSync(pinFile, `${pin}\n`, { mode: 0o600 });
  return { dir, modulePath: SOFTHSM_MODULE, label, pin, pinFile };
}
