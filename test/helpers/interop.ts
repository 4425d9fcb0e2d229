// Small pieces the interop suites share.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import type { TestContext } from 'node:test';
import type { RunResult } from './run.js';
import { startSshd } from './sshd.js';
import type { Sshd, SshdOptions } from './sshd.js';

/** The only account sshd can log in without being root; user certificates must name it. */
export const LOGIN = os.userInfo().username;

export type Run = (args: string[]) => RunResult;

export function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.status, 0, `${what} failed (exit ${r.status}):\n${r.stderr}`);
  return r;
}

/** A string as a literal inside a RegExp. */
export function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** OpenSSH's fingerprint of the key in an "[marker patterns] algorithm base64 [comment]" line. */
export function fingerprintOfLine(line: string): string {
  const fields = line.trim().split(/\s+/);
  const blob = fields[0]!.startsWith('@') ? fields[3] : fields[1];
  assert.ok(blob, `no key in ${JSON.stringify(line)}`);
  return 'SHA256:' + createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '');
}

/** A real sshd that is stopped when the test ends, pass or fail. */
export async function sshdFor(t: TestContext, opts: SshdOptions): Promise<Sshd> {
  const server = await startSshd(opts);
  t.after(() => server.stop());
  return server;
}
