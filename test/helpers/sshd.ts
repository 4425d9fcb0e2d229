// A real OpenSSH server and client for interop tests: no mocks, so a test passes only if the
// sshd and ssh that ship with the OS accept what tctl wrote.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunResult } from './run.js';
import { freeLoopbackPort } from './ports.js';

/** Set to 1 to skip the interop tests (e.g. on a machine without OpenSSH); unset, missing tools fail them. */
export const SKIP_ENV = 'TCTL_SKIP_INTEROP';

export interface OpenSshTools {
  sshd: string;
  ssh: string;
  sshKeygen: string;
}

// sshd lives in sbin, which is not on a non-root PATH.
const SEARCH_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...SEARCH_DIRS];
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/** Absolute paths of sshd, ssh and ssh-keygen, or an error saying which are missing and what to do. */
export function requireOpenSsh(): OpenSshTools {
  const found = { sshd: findExecutable('sshd'), ssh: findExecutable('ssh'), sshKeygen: findExecutable('ssh-keygen') };
  const missing = Object.entries({ sshd: found.sshd, ssh: found.ssh, 'ssh-keygen': found.sshKeygen })
    .filter(([, file]) => file === undefined)
    .map(([name]) => name);
  if (missing.length > 0) {
    throw new Error(
      `OpenSSH interop tests need sshd, ssh and ssh-keygen, but ${missing.join(', ')} ` +
        `${missing.length === 1 ? 'is' : 'are'} not installed (searched PATH and ${SEARCH_DIRS.join(', ')}). ` +
        `Install openssh-server and openssh-client, or set ${SKIP_ENV}=1 to skip these tests.`,
    );
  }
  return found as OpenSshTools;
}

/** The node:test skip option: a reason string when the interop tests are switched off. */
export function interopSkip(): string | false {
  return process.env[SKIP_ENV] === '1' ? `${SKIP_ENV}=1` : false;
}

export interface SshdOptions {
  /** Directory for sshd_config, the pid file and the log; created if missing. */
  dir: string;
  /** Each HostKey with its HostCertificate (the certificate may be omitted for a plain host key). */
  hostKeys: Array<{ key: string; certificate?: string }>;
  /** The TrustedUserCAKeys file (our `auth export --type=user`). */
  trustedUserCaKeys: string;
  /** A RevokedKeys file (KRL or public keys). */
  revokedKeys?: string;
  /** Extra sshd_config lines, appended last. */
  extraConfig?: string[];
  /** How long to wait for "Server listening"; default 10 s. */
  startTimeoutMs?: number;
}

export interface Sshd {
  port: number;
  pid: number;
  configFile: string;
  /** Everything sshd has logged so far (LogLevel VERBOSE): its reasons for refusing a key are here. */
  log(): string;
  /** A position in the log; pass it to waitForLog to look only at what came after. */
  mark(): number;
  /** Resolves with the log after `since` once it matches; rejects with the log text on timeout. */
  waitForLog(pattern: RegExp, since?: number, timeoutMs?: number): Promise<string>;
  /** Kills sshd and waits for it to exit; safe to call twice. */
  stop(): Promise<void>;
}

// One exit handler for every sshd this process started, so a failing or aborted test file does
// not leave servers behind (node:test runs each file in its own process).
const running = new Set<ChildProcess>();
let exitHandlerInstalled = false;

function killAll(): void {
  for (const c of running) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

function killOnExit(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', killAll);
  // A signal ends the process without 'exit' (the test runner sends SIGTERM when it is torn down,
  // e.g. when its output pipe closes). Exiting runs every 'exit' handler: sshd and temp dirs go.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => process.exit(128 + os.constants.signals[signal]));
  }
}


function sshdConfig(opts: SshdOptions, port: number, pidFile: string): string {
  const lines = [
    'ListenAddress 127.0.0.1',
    `Port ${port}`,
    ...opts.hostKeys.flatMap((h) => [
      `HostKey ${path.resolve(h.key)}`,
      ...(h.certificate === undefined ? [] : [`HostCertificate ${path.resolve(h.certificate)}`]),
    ]),
    `TrustedUserCAKeys ${path.resolve(opts.trustedUserCaKeys)}`,
    ...(opts.revokedKeys === undefined ? [] : [`RevokedKeys ${path.resolve(opts.revokedKeys)}`]),
    // Certificates are the only way in: no authorized_keys, passwords or PAM to fall back on.
    'AuthorizedKeysFile none',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // Temp dirs and CI home directories rarely have the ownership StrictModes demands.
    'StrictModes no',
    `PidFile ${pidFile}`,
    // VERBOSE is the lowest level that logs which certificate was accepted or why it was not.
    'LogLevel VERBOSE',
    ...(opts.extraConfig ?? []),
  ];
  return lines.join('\n') + '\n';
}

const BIND_FAILURE = /Address already in use|Cannot bind any address/;

/** Starts sshd in the foreground on a free loopback port and waits until it is listening. */
export async function startSshd(opts: SshdOptions): Promise<Sshd> {
  const tools = requireOpenSsh();
  fs.mkdirSync(opts.dir, { recursive: true });
  if (process.getuid?.() === 0) {
    // Privilege separation needs this empty root-owned directory; packages create it at boot.
    fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  }
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await freeLoopbackPort();
    try {
      return await launch(tools.sshd, opts, port, attempt);
    } catch (err) {
      lastError = err as Error;
      if (!(err instanceof BindError)) throw err;
    }
  }
  throw lastError!;
}

class BindError extends Error {}

async function launch(sshdPath: string, opts: SshdOptions, port: number, attempt: number): Promise<Sshd> {
  const dir = path.resolve(opts.dir);
  const configFile = path.join(dir, `sshd_config.${attempt}`);
  const logFile = path.join(dir, `sshd.${attempt}.log`);
  const pidFile = path.join(dir, `sshd.${attempt}.pid`);
  fs.writeFileSync(configFile, sshdConfig(opts, port, pidFile));

  // The log goes to a file rather than a pipe: tests run ssh synchronously, and a pipe nobody
  // reads could fill up and stall sshd.
  const logFd = fs.openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    // sshd re-executes itself, so it must be started by absolute path.
    child = spawn(sshdPath, ['-D', '-e', '-f', configFile], {
      stdio: ['ignore', logFd, logFd],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
  } finally {
    fs.closeSync(logFd);
  }
  let failure: Error | undefined;
  child.once('error', (err) => {
    failure = err;
  });
  killOnExit(child);

  const log = (): string => {
    try {
      return fs.readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;

  const stop = async (): Promise<void> => {
    if (exited()) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  };

  const describe = (why: string): string =>
    `sshd ${why} (port ${port}, config ${configFile}).\n--- sshd log ---\n${log() || '(empty)'}\n--- sshd_config ---\n${fs.readFileSync(configFile, 'utf8')}`;

  const timeoutMs = opts.startTimeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  while (!log().includes('Server listening on 127.0.0.1')) {
    if (failure) throw new Error(describe(`could not be started: ${failure.message}`));
    if (exited()) {
      const why = describe(`exited with ${child.exitCode ?? child.signalCode} before listening`);
      throw BIND_FAILURE.test(log()) ? new BindError(why) : new Error(why);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(describe(`did not log "Server listening" within ${timeoutMs} ms`));
    }
    await new Promise((r) => setTimeout(r, 20));
  }

  return {
    port,
    pid: child.pid!,
    configFile,
    log,
    mark: () => log().length,
    async waitForLog(pattern: RegExp, since = 0, waitMs = 3000): Promise<string> {
      // sshd may write a line a moment after the client has already exited.
      const until = Date.now() + waitMs;
      for (;;) {
        const text = log().slice(since);
        if (pattern.test(text)) return text;
        if (Date.now() > until) {
          throw new Error(`sshd did not log ${pattern} within ${waitMs} ms; its log since the mark:\n${text || '(empty)'}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    stop,
  };
}

export interface SshRunOptions {
  port: number;
  /** Private key; ssh also loads KEY-cert.pub beside it, as it would for a user. */
  key: string;
  /** The only known_hosts file consulted. */
  knownHosts: string;
  /** The name the host certificate must list and the known_hosts patterns must match. */
  hostKeyAlias: string;
  /** Login name; default the current OS user (the only account a non-root sshd can log in). */
  user?: string;
  command?: string;
  /** Extra `-o` options, e.g. HostKeyAlgorithms=... */
  options?: string[];
  /** Add -v so stderr shows which host certificate was checked. */
  verbose?: boolean;
  /** Log in with the keys of this ssh-agent socket instead of key (key is then ignored). */
  agent?: string;
}

/** ssh's arguments for a login with strict host key checking and nothing from ~/.ssh or an agent. */
export function sshArgs(o: SshRunOptions, extra: string[] = []): string[] {
  return [
    '-F', '/dev/null',
    ...(o.agent === undefined
      ? ['-i', path.resolve(o.key), '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none']
      : ['-o', `IdentityAgent=${path.resolve(o.agent)}`]),
    '-o', 'BatchMode=yes',
    '-o', `UserKnownHostsFile=${path.resolve(o.knownHosts)}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `HostKeyAlias=${o.hostKeyAlias}`,
    '-o', 'ConnectTimeout=5',
    ...(o.options ?? []).flatMap((opt) => ['-o', opt]),
    ...(o.verbose ? ['-v'] : []),
    ...extra,
    '-p', String(o.port),
    `${o.user ?? os.userInfo().username}@127.0.0.1`,
  ];
}

/** The environment ssh runs in: HOME beside the known_hosts file, never the developer's. */
export function sshEnv(o: SshRunOptions): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: path.dirname(path.resolve(o.knownHosts)), LC_ALL: 'C' };
}

/** Runs one command over ssh with strict host key checking and nothing from ~/.ssh or an agent. */
export function sshRun(o: SshRunOptions): RunResult {
  const { ssh } = requireOpenSsh();
  const args = [...sshArgs(o), o.command ?? 'echo ok'];
  const r = spawnSync(ssh, args, {
    input: '',
    encoding: 'utf8',
    timeout: 20_000,
    env: sshEnv(o),
  });
  if (r.error) throw new Error(`ssh ${args.join(' ')} failed to run: ${r.error.message}\n${r.stderr ?? ''}`);
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
