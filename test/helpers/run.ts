// Runs the built tctl as a user would, in temp dirs that never touch the developer's home.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const TCTL = path.join(REPO_ROOT, 'bin', 'tctl');

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** A fresh temp dir, removed when the test process exits. */
export function tempDir(prefix = 'tctl-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs tctl with no TTY and an environment that cannot reach the real home directory. */
/** Runs the built tctl. With timeoutMs the child is killed when it overruns: status -1, never a hang. */
export function tctl(args: string[], opts: { cwd: string; env?: Record<string, string | undefined>; input?: string; timeoutMs?: number }): RunResult {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: opts.cwd,
    NO_COLOR: '1',
    ...opts.env,
  };
  const r = spawnSync(process.execPath, [TCTL, ...args], {
    cwd: opts.cwd,
    env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv,
    input: opts.input ?? '',
    encoding: 'utf8',
    ...(opts.timeoutMs !== undefined ? { timeout: opts.timeoutMs, killSignal: 'SIGKILL' as const } : {}),
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A data dir initialised for example.com in a fresh temp dir; returns cwd and a runner bound to it. */
export function initialisedCa(keyType = 'ed25519', clusterName = 'example.com') {
  const cwd = tempDir();
  const dataDir = path.join(cwd, 'ca');
  const run = (args: string[], extra: { env?: Record<string, string | undefined>; input?: string } = {}) =>
    tctl(args, { cwd, env: { TCTL_DATA_DIR: dataDir, ...extra.env }, input: extra.input });
  const init = run(['auth', 'init', `--cluster-name=${clusterName}`, `--ca-key-type=${keyType}`]);
  if (init.status !== 0) throw new Error(`auth init failed: ${init.stderr}`);
  return { cwd, dataDir, run };
}

/** Runs ssh-keygen (or another OpenSSH tool) without a shell. */
export function openssh(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): RunResult {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, input: opts.input ?? '', encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
