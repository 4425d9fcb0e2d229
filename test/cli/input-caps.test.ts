// Every file tctl reads has a byte cap that does not trust stat().size: devices, FIFOs and /proc
// report a size of 0 and never end. Each case must end at once with one error line, exit 1.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { TCTL, initialisedCa } from '../helpers/run.js';

/** Far above a bare tctl run (~60 MiB); a read that follows /dev/zero passes it in a second. */
const MAX_RSS_KIB = 200 * 1024;
const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

interface Run {
  status: number;
  stderr: string;
  ms: number;
  maxRssKiB?: number;
}

/** Runs tctl with a hard timeout, measuring its peak memory when /usr/bin/time is there. */
function tctlBounded(cwd: string, dataDir: string, args: string[]): Run {
  const argv = [process.execPath, TCTL, ...args];
  const cmd = TIME ? [TIME, '-f', 'maxrss-kib=%M', ...argv] : argv;
  const t0 = Date.now();
  const r = spawnSync(cmd[0]!, cmd.slice(1), {
    cwd,
    env: { PATH: process.env.PATH, HOME: cwd, NO_COLOR: '1', TCTL_DATA_DIR: dataDir },
    encoding: 'utf8',
    timeout: 20_000,
    killSignal: 'SIGKILL',
  });
  const ms = Date.now() - t0;
  let stderr = r.stderr ?? '';
  let maxRssKiB: number | undefined;
  const m = /(?:Command exited with non-zero status \d+\n)?maxrss-kib=(\d+)\n$/.exec(stderr);
  if (TIME && m) {
    maxRssKiB = Number(m[1]);
    stderr = stderr.slice(0, m.index);
  }
  return { status: r.status ?? -1, stderr, ms, maxRssKiB };
}

function assertRefused(r: Run, what: string, message?: RegExp): void {
  assert.equal(r.status, 1, `${what}: exit 1\n${r.stderr}`);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('tctl: error:'));
  assert.equal(errors.length, 1, `${what}: one error line\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `${what}: no stack trace`);
  if (message) assert.match(errors[0]!, message, what);
  assert.ok(r.ms < 15_000, `${what}: took ${r.ms} ms`);
  if (TIME) {
    assert.ok(r.maxRssKiB !== undefined, `${what}: /usr/bin/time reported no peak memory`);
    assert.ok(r.maxRssKiB < MAX_RSS_KIB, `${what}: peak memory ${r.maxRssKiB} KiB`);
  }
}

const re = (s: string) => new RegExp('^tctl: error: ' + s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&') + '$');

/** Each place a user names a file, and how its "too large" error names it. */
const entryPoints: { name: string; args: (f: string) => string[]; tooLarge: (f: string) => string; isDir: (f: string) => string }[] = [
  {
    name: 'auth sign --public-key',
    args: (f) => ['auth', 'sign', '--user=joe', `--public-key=${f}`, '--out=joe'],
    tooLarge: (f) => `--public-key ${f} is too large (more than 64 KiB)`,
    isDir: (f) => `--public-key ${f} is a directory`,
  },
  {
    name: 'auth revoke --cert',
    args: (f) => ['auth', 'revoke', `--cert=${f}`],
    tooLarge: (f) => `--cert ${f} is too large (more than 64 KiB)`,
    isDir: (f) => `--cert ${f} is a directory`,
  },
  {
    name: 'auth revoke --public-key',
    args: (f) => ['auth', 'revoke', `--public-key=${f}`],
    tooLarge: (f) => `--public-key ${f} is too large (more than 64 KiB)`,
    isDir: (f) => `--public-key ${f} is a directory`,
  },
  {
    name: 'auth inspect',
    args: (f) => ['auth', 'inspect', f],
    tooLarge: (f) => `${f}: is too large (more than 64 KiB)`,
    isDir: (f) => `${f}: is a directory`,
  },
  {
    name: '--config',
    args: (f) => ['status', `--config=${f}`],
    tooLarge: (f) => `config ${f} is too large (more than 1 MiB)`,
    isDir: (f) => `config ${f} is a directory`,
  },
];

/** A FIFO with a writer that never stops; the writer dies of SIGPIPE once tctl lets go. */
function endlessFifo(dir: string) {
  const fifo = path.join(dir, `fifo-${Math.random().toString(16).slice(2)}`);
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const writer = spawn('sh', ['-c', 'exec yes tctl > "$0"', fifo], { stdio: 'ignore' });
  return { fifo, stop: () => writer.kill('SIGKILL') };
}

for (const e of entryPoints) {
  test(`${e.name}: endless and special files are refused at once, memory bounded`, () => {
    const { cwd, dataDir } = initialisedCa();
    const dir = path.join(cwd, 'a-directory');
    fs.mkdirSync(dir);
    for (const f of ['/dev/zero', '/dev/urandom', '/proc/self/pagemap']) {
      assertRefused(tctlBounded(cwd, dataDir, e.args(f)), `${e.name} ${f}`, re(e.tooLarge(f)));
    }
    const { fifo, stop } = endlessFifo(cwd);
    try {
      assertRefused(tctlBounded(cwd, dataDir, e.args(fifo)), `${e.name} FIFO`, re(e.tooLarge(fifo)));
    } finally {
      stop();
    }
    assertRefused(tctlBounded(cwd, dataDir, e.args(dir)), `${e.name} directory`, re(e.isDir(dir)));
    // Small and finite but not a key or certificate: refused by what it is, not by size. (As a
    // --config it is valid YAML with no teleport section, so it is accepted, as it should be.)
    if (e.name !== '--config') assertRefused(tctlBounded(cwd, dataDir, e.args('/proc/self/status')), `${e.name} /proc/self/status`);
  });
}

test('the data dir\'s own files are read with a cap too', () => {
  const { cwd, dataDir } = initialisedCa();
  const state = path.join(dataDir, 'state.json');
  const saved = fs.readFileSync(state);
  fs.rmSync(state);
  fs.symlinkSync('/dev/zero', state);
  assertRefused(tctlBounded(cwd, dataDir, ['status']), 'state.json -> /dev/zero', re(`${state} is too large (more than 16 MiB)`));
  fs.rmSync(state);
  fs.mkdirSync(state);
  assertRefused(tctlBounded(cwd, dataDir, ['status']), 'state.json a directory', re(`${state} is a directory`));
  fs.rmdirSync(state);
  fs.writeFileSync(state, saved);

  const keys = path.join(dataDir, 'keys');
  const userKey = path.join(keys, fs.readdirSync(keys).find((k) => k.startsWith('user-'))!);
  fs.renameSync(userKey, userKey + '.saved');
  fs.symlinkSync('/dev/urandom', userKey);
  assertRefused(tctlBounded(cwd, dataDir, ['auth', 'sign', '--user=joe', '--out=joe']), 'CA key -> /dev/urandom', re(`${userKey} is too large (more than 16 MiB)`));
  fs.rmSync(userKey);
  fs.renameSync(userKey + '.saved', userKey);

  const audit = path.join(dataDir, 'audit.jsonl');
  const entries = fs.readFileSync(audit, 'utf8').trim().split('\n').length;
  fs.appendFileSync(audit, 'x'.repeat(3 * 1024 * 1024));
  const long = new RegExp(`line ${entries + 1} breaks the chain: longer than 1048576 bytes$`);
  assertRefused(tctlBounded(cwd, dataDir, ['audit', 'verify']), 'audit.jsonl with a 3 MiB line', long);
  fs.rmSync(audit);
  fs.symlinkSync('/dev/zero', audit);
  assertRefused(tctlBounded(cwd, dataDir, ['audit', 'verify']), 'audit.jsonl -> /dev/zero', re(`${audit} is not a regular file`));
});
