// --batch from anything a shell can name: a pipe, /dev/stdin, <(...), a FIFO, a directory, a
// device. The input is read once; what is signed is exactly what was checked; an input with no
// requests spends no serial; a refused batch creates no --out-dir.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { spoolBatch } from '../../src/cli/batch-spool.js';
import { TCTL, initialisedCa, openssh, tempDir } from '../helpers/run.js';

function key(cwd: string, name: string): string {
  const f = path.join(cwd, name);
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f]).status, 0);
  return fs.readFileSync(`${f}.pub`, 'utf8').trim();
}
const line = (o: unknown) => JSON.stringify(o) + '\n';
const lines = (dataDir: string, f: string) =>
  fs.existsSync(path.join(dataDir, f)) ? fs.readFileSync(path.join(dataDir, f), 'utf8').split('\n').filter((l) => l !== '') : [];
const issuedKeyIds = (dataDir: string) => lines(dataDir, 'issued.jsonl').map((l) => (JSON.parse(l) as { keyId: string }).keyId);

/** Runs tctl through bash, for process substitution and redirections. */
function viaBash(cwd: string, dataDir: string, script: string, env: Record<string, string> = {}) {
  const r = spawnSync('bash', ['-c', script], {
    cwd,
    env: { PATH: process.env.PATH, HOME: cwd, NO_COLOR: '1', TCTL_DATA_DIR: dataDir, NODE: process.execPath, TCTL, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('batch from a pipe, /dev/stdin, <(...) and - signs every line, once', () => {
  const { cwd, dataDir } = initialisedCa();
  const k = key(cwd, 'k');
  const tmp = tempDir();
  fs.writeFileSync(path.join(cwd, 'req.jsonl'), line({ user: 'ann', public_key: k }) + line({ host: 'a.example.com', public_key: k }));
  const cases: Array<[string, string]> = [
    ['dev-stdin', 'cat req.jsonl | "$NODE" "$TCTL" auth sign --batch=/dev/stdin --out-dir=o1'],
    ['redirect', '"$NODE" "$TCTL" auth sign --batch=/dev/stdin --out-dir=o2 < req.jsonl'],
    ['process-substitution', '"$NODE" "$TCTL" auth sign --batch=<(cat req.jsonl) --out-dir=o3'],
    ['dash', 'cat req.jsonl | "$NODE" "$TCTL" auth sign --batch=- --out-dir=o4'],
    ['proc-fd', 'exec 3< req.jsonl; "$NODE" "$TCTL" auth sign --batch=/proc/self/fd/3 --out-dir=o5'],
  ];
  let serial = 0;
  for (const [what, script] of cases) {
    const r = viaBash(cwd, dataDir, script, { TMPDIR: tmp });
    assert.equal(r.status, 0, `${what}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Signed 2 certificates into o\\d in [\\d.]+s \\(serials ${serial + 1}-${serial + 2}\\)\\n$`), what);
    serial += 2;
    const dir = path.join(cwd, `o${cases.findIndex((c) => c[0] === what) + 1}`);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['a.example.com-cert.pub', 'ann-cert.pub'], what);
  }
  assert.equal(fs.readFileSync(path.join(dataDir, 'serial'), 'utf8').trim(), String(serial));
  assert.equal(issuedKeyIds(dataDir).length, serial);
  assert.deepEqual(fs.readdirSync(tmp), [], 'the spool leaves nothing in TMPDIR');
});

test('batch from a FIFO: the FIFO is opened once; a second writer never gets a line signed', async () => {
  const { cwd, dataDir } = initialisedCa();
  const k = key(cwd, 'k');
  fs.writeFileSync(path.join(cwd, 'good.jsonl'), line({ user: 'bob', public_key: k }));
  fs.writeFileSync(path.join(cwd, 'evil.jsonl'), line({ user: 'root', public_key: k }));
  for (let round = 0; round < 5; round++) {
    const fifo = path.join(cwd, `fifo${round}`);
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    // The attacker writes a checked-looking line, then waits for the FIFO to be opened again.
    const writer = spawn('sh', ['-c', `cat good.jsonl > ${fifo}; sleep 0.3; cat evil.jsonl > ${fifo}`], { cwd, stdio: 'ignore' });
    const r = viaBash(cwd, dataDir, `"$NODE" "$TCTL" auth sign --batch=fifo${round} --out-dir=o${round}`);
    writer.kill();
    await new Promise((resolve) => writer.once('exit', resolve));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Signed 1 certificate into /);
    assert.deepEqual(fs.readdirSync(path.join(cwd, `o${round}`)), ['bob-cert.pub']);
  }
  assert.deepEqual(issuedKeyIds(dataDir), ['bob', 'bob', 'bob', 'bob', 'bob']);
  assert.equal(fs.readFileSync(path.join(dataDir, 'serial'), 'utf8').trim(), '5');
});

test('batch with no requests: an error, no serial, no audit entry, no --out-dir', () => {
  const { cwd, dataDir } = initialisedCa();
  fs.writeFileSync(path.join(cwd, 'blank.jsonl'), '\n  \n\t\n');
  const before = { serial: fs.readFileSync(path.join(dataDir, 'serial'), 'utf8'), audit: lines(dataDir, 'audit.jsonl') };
  for (const [script, name] of [
    ['"$NODE" "$TCTL" auth sign --batch=/dev/null --out-dir=out', '/dev/null'],
    ['true | "$NODE" "$TCTL" auth sign --batch=/dev/stdin --out-dir=out', '/dev/stdin'],
    ['"$NODE" "$TCTL" auth sign --batch=- --out-dir=out < /dev/null', 'stdin'],
    ['"$NODE" "$TCTL" auth sign --batch=<(true) --out-dir=out', '/dev/fd/'],
    ['"$NODE" "$TCTL" auth sign --batch=blank.jsonl --out-dir=out', 'blank.jsonl'],
  ] as const) {
    const r = viaBash(cwd, dataDir, script);
    assert.equal(r.status, 1, script);
    assert.equal(r.stdout, '', script);
    assert.ok(r.stderr.startsWith(`tctl: error: the batch has no requests (${name}`), `${script}: ${r.stderr}`);
    assert.match(r.stderr, /; nothing was signed\n$/);
    assert.equal(fs.readFileSync(path.join(dataDir, 'serial'), 'utf8'), before.serial, script);
    assert.deepEqual(lines(dataDir, 'audit.jsonl'), before.audit, script);
    assert.ok(!fs.existsSync(path.join(cwd, 'out')), script);
  }
});

test('batch from a directory, a device, or with nowhere to spool: one clear error, nothing created', () => {
  const { cwd, dataDir } = initialisedCa();
  const k = key(cwd, 'k');
  fs.mkdirSync(path.join(cwd, 'requests'));
  fs.writeFileSync(path.join(cwd, 'req.jsonl'), line({ user: 'ann', public_key: k }));
  const serial = fs.readFileSync(path.join(dataDir, 'serial'), 'utf8');
  for (const [script, re] of [
    ['"$NODE" "$TCTL" auth sign --batch=requests --out-dir=out', /^tctl: error: cannot read requests: it is a directory\ntctl: hint: .*file of JSON request lines/],
    ['"$NODE" "$TCTL" auth sign --batch=. --out-dir=out', /^tctl: error: cannot read \.: it is a directory\n/],
    ['"$NODE" "$TCTL" auth sign --batch=/dev/zero --out-dir=out', /^tctl: error: \/dev\/zero has a line longer than 1048576 bytes\n/],
    ['head -c 3000000 /dev/zero | "$NODE" "$TCTL" auth sign --batch=- --out-dir=out', /^tctl: error: stdin has a line longer than 1048576 bytes\n/],
    ['TMPDIR=/proc "$NODE" "$TCTL" auth sign --batch=req.jsonl --out-dir=out', /^tctl: error: cannot create a temp file for the batch in \/proc: .*\ntctl: hint: set TMPDIR/],
  ] as const) {
    const started = Date.now();
    const r = viaBash(cwd, dataDir, script);
    assert.equal(r.status, 1, `${script}: ${r.stderr}`);
    assert.match(r.stderr, re, script);
    assert.doesNotMatch(r.stderr, /unexpected failure/);
    assert.ok(Date.now() - started < 20_000, `${script} stops at the line cap`);
    assert.ok(!fs.existsSync(path.join(cwd, 'out')), script);
  }
  assert.equal(fs.readFileSync(path.join(dataDir, 'serial'), 'utf8'), serial);
});

test('a refused batch from a pipe creates no --out-dir and spends no serial', () => {
  const { cwd, dataDir } = initialisedCa();
  const k = key(cwd, 'k');
  fs.writeFileSync(path.join(cwd, 'req.jsonl'), line({ user: 'ann', public_key: k }) + line({ user: 'root', principals: ['a,root'], public_key: k }));
  const r = viaBash(cwd, dataDir, 'cat req.jsonl | "$NODE" "$TCTL" auth sign --batch=/dev/stdin --out-dir=deep/out');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^tctl: error: \/dev\/stdin:2: invalid "principals" entry "a,root": must not contain ","/);
  assert.match(r.stderr, /1 bad line in the batch; nothing was signed/);
  assert.ok(!fs.existsSync(path.join(cwd, 'deep')));
  assert.equal(fs.readFileSync(path.join(dataDir, 'serial'), 'utf8').trim(), '0');
});

test('the spool: the caps hold across every chunk boundary, and both passes see the same lines', async () => {
  const dir = tempDir();
  const maxLine = 100;
  for (let seed = 1; seed <= 40; seed++) {
    // Line lengths near the cap, so long lines straddle the 64 KiB read boundaries.
    let x = seed;
    const rand = (n: number) => ((x = (x * 1103515245 + 12345) % 2 ** 31), x % n);
    const parts: string[] = [];
    let longest = 0;
    for (let size = 0; size < 200_000; ) {
      const len = rand(20) === 0 ? maxLine + 1 - rand(3) : rand(maxLine);
      parts.push('x'.repeat(len));
      longest = Math.max(longest, len);
      size += len + 1;
    }
    const text = parts.join('\n') + (rand(2) === 0 ? '\n' : '');
    const file = path.join(dir, `in${seed}`);
    fs.writeFileSync(file, text);
    const spooled = spoolBatch(file, 'in', { maxBytes: 1 << 30, maxLine });
    if (longest > maxLine) {
      await assert.rejects(spooled, { message: `in has a line longer than ${maxLine} bytes` }, `seed ${seed}`);
      continue;
    }
    const spool = await spooled;
    const expected = text.split('\n');
    if (expected.at(-1) === '') expected.pop();
    const first = [...spool.lines()];
    assert.deepEqual(first, expected, `seed ${seed}`);
    assert.deepEqual([...spool.lines()], first);
    spool.close();
  }
  const big = path.join(dir, 'big');
  fs.writeFileSync(big, 'y\n'.repeat(50_000));
  await assert.rejects(spoolBatch(big, 'big', { maxBytes: 99_999, maxLine }), { message: 'big is larger than 99999 bytes' });
  const fits = await spoolBatch(big, 'big', { maxBytes: 100_000, maxLine });
  assert.equal([...fits.lines()].length, 50_000);
  fits.close();
});
