// A real PostgreSQL for tests: a fresh cluster in a temp dir, listening on a unix socket in that
// dir and on a free 127.0.0.1 port, stopped by PID. Used by the TLS interop tests and meant for
// any test that needs a database (a storage backend, TLS logins).
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunResult } from './run.js';
import { freeLoopbackPort } from './ports.js';

/** Set to 1 to skip PostgreSQL tests on a machine without it; unset, a missing PostgreSQL fails them. */
export const SKIP_PG_ENV = 'TCTL_SKIP_POSTGRES';

export function postgresSkip(): string | false {
  return process.env[SKIP_PG_ENV] === '1' ? `${SKIP_PG_ENV}=1` : false;
}

export interface PostgresOptions {
  /** Extra postgresql.conf lines (e.g. `ssl = on`), appended after ours. */
  config?: string[];
  /** The whole pg_hba.conf; default: trust on the unix socket only. */
  hba?: string;
  /** Files written into `dir` before start, owned by the server's user, mode 0600 (e.g. server.key). PostgreSQL reads relative paths from the data dir, so `config` names them `../NAME`. */
  files?: Record<string, string | Buffer>;
  startTimeoutMs?: number;
}

export interface Postgres {
  /** The temp dir holding data/, the socket and the files; removed by stop(). */
  dir: string;
  dataDir: string;
  port: number;
  pid: number;
  /** The bootstrap superuser (the OS user the server runs as). */
  superuser: string;
  /** A libpq URL over TCP to 127.0.0.1 (`params` become query parameters, e.g. sslmode). */
  url(opts: { user: string; database?: string; params?: Record<string, string> }): string;
  /** Runs psql without a shell, with no PG* variables from the environment and HOME in `dir`. `conninfo` is a keyword=value string or URL. */
  psql(conninfo: string, sql: string, opts?: { timeoutMs?: number }): RunResult;
  /** SQL as the superuser over the unix socket; throws on failure. Returns psql's unaligned, tuples-only output. */
  sql(statement: string, database?: string): string;
  /** Writes a file into `dir` as the server's user, mode 0600; returns its path. */
  writeFile(name: string, content: string | Buffer): string;
  /** SIGHUP: re-reads postgresql.conf, pg_hba.conf and the SSL files; resolves when the server says so. */
  reload(): Promise<void>;
  log(): string;
  /** Resolves with the log after `since` (a log().length) once it matches; the log is read between turns of the event loop, so not during a spawnSync. */
  waitForLog(pattern: RegExp, since?: number, timeoutMs?: number): Promise<string>;
  /** Fast shutdown (SIGINT), waits for exit, removes `dir`; safe to call twice. */
  stop(): Promise<void>;
}

/** The newest PostgreSQL server binaries: TCTL_PG_BINDIR, then Debian's /usr/lib/postgresql/N/bin, then pg_config. */
export function postgresBinDir(): string {
  const candidates: string[] = [];
  if (process.env.TCTL_PG_BINDIR) candidates.push(process.env.TCTL_PG_BINDIR);
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) {
    const versions = fs.readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(debian, v, 'bin')));
  }
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (pgConfig.status === 0) candidates.push(pgConfig.stdout.trim());
  const found = candidates.find((dir) => ['initdb', 'postgres', 'psql'].every((b) => fs.existsSync(path.join(dir, b))));
  if (!found) {
    throw new Error(`PostgreSQL tests need initdb, postgres and psql (looked in ${candidates.join(', ') || 'no directory'}); install postgresql, set TCTL_PG_BINDIR, or set ${SKIP_PG_ENV}=1`);
  }
  return found;
}

/** initdb and postgres refuse to run as root: as root, run them as the `postgres` OS user. */
function serverUser(): { uid: number; gid: number; name: string } {
  if (process.getuid?.() !== 0) return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, name: os.userInfo().username };
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) throw new Error('running as root, PostgreSQL needs a "postgres" OS user to run as');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()), name: 'postgres' };
}

const running = new Set<ChildProcess>();
let exitHandlerInstalled = false;

function killOnExit(child: ChildProcess, dir: string): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  process.once('exit', () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGQUIT'); // immediate shutdown: the process is going away
      } catch {
        // already gone
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => process.exit(128 + os.constants.signals[signal]));
  }
}


function cleanEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, LANG: 'C', PGCONNECT_TIMEOUT: '10' };
  return env;
}

export async function startPostgres(opts: PostgresOptions = {}): Promise<Postgres> {
  const bin = postgresBinDir();
  const user = serverUser();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tctl-pg-'));
  fs.chmodSync(dir, 0o700);
  fs.chownSync(dir, user.uid, user.gid);
  const dataDir = path.join(dir, 'data');
  const asServer = { uid: user.uid, gid: user.gid, env: cleanEnv(dir) };

  const writeFile = (name: string, content: string | Buffer): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, content, { mode: 0o600 });
    fs.chmodSync(file, 0o600);
    fs.chownSync(file, user.uid, user.gid);
    return file;
  };
  for (const [name, content] of Object.entries(opts.files ?? {})) writeFile(name, content);

  const init = spawnSync(path.join(bin, 'initdb'), ['-D', dataDir, '-U', user.name, '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-instructions'], {
    ...asServer, encoding: 'utf8',
  });
  if (init.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr}`);
  }
  fs.writeFileSync(path.join(dataDir, 'pg_hba.conf'), opts.hba ?? 'local all all trust\n');

  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freeLoopbackPort();
    fs.writeFileSync(path.join(dataDir, 'postgresql.conf'), [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      'fsync = on',
      'max_connections = 20',
      'shared_buffers = 16MB',
      'log_connections = on',
      'logging_collector = off',
      ...(opts.config ?? []),
      '',
    ].join('\n'));
    const child = spawn(path.join(bin, 'postgres'), ['-D', dataDir], { ...asServer, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    killOnExit(child, dir);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const ready = await waitFor(() => /ready to accept connections/.test(log), () => child.exitCode !== null || child.signalCode !== null, opts.startTimeoutMs ?? 15_000);
    if (!ready) {
      lastError = log;
      if (child.exitCode === null) child.kill('SIGQUIT');
      await exited;
      if (/could not bind|address already in use/i.test(log)) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`postgres did not start:\n${log}`);
    }
    const pid = child.pid!;
    const psql = (conninfo: string, sql: string, o: { timeoutMs?: number } = {}): RunResult => {
      const r = spawnSync(path.join(bin, 'psql'), ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql, conninfo], {
        env: cleanEnv(dir), encoding: 'utf8', timeout: o.timeoutMs ?? 20_000,
      });
      if (r.error) throw r.error;
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    };
    let stopped: Promise<void> | undefined;
    return {
      dir, dataDir, port, pid, superuser: user.name,
      url: ({ user: role, database, params }) => {
        const query = new URLSearchParams(params ?? {}).toString();
        return `postgresql://${encodeURIComponent(role)}@127.0.0.1:${port}/${encodeURIComponent(database ?? 'postgres')}${query ? `?${query}` : ''}`;
      },
      psql,
      sql: (statement, database = 'postgres') => {
        const r = psql(`host=${dir} port=${port} user=${user.name} dbname=${database}`, statement);
        if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
        return r.stdout;
      },
      writeFile,
      reload: async () => {
        const mark = log.length;
        process.kill(pid, 'SIGHUP');
        if (!(await waitFor(() => /received SIGHUP/.test(log.slice(mark)), () => false, 10_000))) throw new Error(`postgres did not reload:\n${log}`);
        // The postmaster logs before it reloads the SSL context; new backends fork after that.
        await new Promise((r) => setTimeout(r, 300));
      },
      log: () => log,
      waitForLog: async (pattern, since = 0, timeoutMs = 10_000) => {
        if (await waitFor(() => pattern.test(log.slice(since)), () => false, timeoutMs)) return log.slice(since);
        throw new Error(`postgres log did not match ${pattern}:\n${log}`);
      },
      stop: () => {
        stopped ??= (async () => {
          if (child.exitCode === null && child.signalCode === null) {
            process.kill(pid, 'SIGINT'); // fast shutdown: roll back sessions, checkpoint, exit
            await exited;
          }
          fs.rmSync(dir, { recursive: true, force: true });
        })();
        return stopped;
      },
    };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw new Error(`postgres could not bind a port after 3 attempts:\n${lastError}`);
}

async function waitFor(done: () => boolean, failed: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (done()) return true;
    if (failed()) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return done();
}
