// The built tctl as a child process that runs beside the test (spawn, not spawnSync): for several
// tctl processes at once, and for a process the test kills or whose server it stops mid-command.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { RunResult } from './run.js';
import { TCTL } from './run.js';

export interface Exit extends RunResult {
  /** The signal that ended the process (status is then -1). */
  signal: NodeJS.Signals | null;
}

export interface Started {
  child: ChildProcess;
  done: Promise<Exit>;
  /** stdout so far */
  stdout(): string;
}

export interface SpawnOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
}

/** Starts tctl with the same clean environment as run.ts's tctl(); killed with SIGKILL after timeoutMs (default 60 s), so a hang fails the test instead of stalling it. */
export function startTctl(args: string[], opts: SpawnOptions): Started {
  return start(process.execPath, [TCTL, ...args], opts);
}

export const tctlAsync = (args: string[], opts: SpawnOptions): Promise<Exit> => startTctl(args, opts).done;

/** Any program (ssh-keygen, openssl) the same way, HOME in cwd. */
export const runAsync = (file: string, args: string[], opts: SpawnOptions): Promise<Exit> => start(file, args, opts).done;

function start(file: string, args: string[], opts: SpawnOptions): Started {
  const env: Record<string, string | undefined> = { PATH: process.env.PATH, HOME: opts.cwd, NO_COLOR: '1', ...opts.env };
  const child = spawn(file, args, {
    cwd: opts.cwd,
    env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin!.on('error', () => undefined); // a child that exits before reading its input
  child.stdin!.end(opts.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const done = new Promise<Exit>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status: status ?? -1, signal, stdout, stderr });
    });
  });
  return { child, done, stdout: () => stdout };
}

/** Waits until check() is true, polling; throws with `what` after timeoutMs. */
export async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
