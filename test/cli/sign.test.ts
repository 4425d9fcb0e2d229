import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { TCTL, initialisedCa, openssh } from '../helpers/run.js';

const mode = (p: string) => fs.statSync(p).mode & 0o777;
const noStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
const listing = (dir: string) => fs.readdirSync(dir).filter((f) => f !== 'ca').sort();
const issuedLines = (dataDir: string) => fs.readFileSync(path.join(dataDir, 'issued.jsonl'), 'utf8').trim().split('\n').filter(Boolean);

test('host certificate: default out, message, modes, principals, Teleport extensions, log entry', () => {
  const { run, cwd, dataDir } = initialisedCa();
  const r = run(['auth', 'sign', '--host=api.example.com,ssh.example.com,64.225.88.175,64.225.88.178', '--format=openssh']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'The credentials have been written to api.example.com, api.example.com.pub, api.example.com-cert.pub\n');
  assert.equal(mode(path.join(cwd, 'api.example.com.pub')), 0o644);
  assert.equal(fs.readFileSync(path.join(cwd, 'api.example.com.pub'), 'utf8'), openssh('ssh-keygen', ['-y', '-f', path.join(cwd, 'api.example.com')]).stdout, 'the public half, with the key id as its comment');
  assert.equal(mode(path.join(cwd, 'api.example.com')), 0o600);
  const l = openssh('ssh-keygen', ['-L', '-f', path.join(cwd, 'api.example.com-cert.pub')]);
  assert.equal(l.status, 0, l.stderr);
  assert.match(l.stdout, /ssh-ed25519-cert-v01@openssh\.com host certificate/);
  assert.match(l.stdout, /Key ID: "api\.example\.com"/);
  assert.match(l.stdout, /Principals: \n\s+api\.example\.com\n\s+ssh\.example\.com\n\s+64\.225\.88\.175\n\s+64\.225\.88\.178\n/);
  assert.match(l.stdout, /Valid: after /, 'host certs never expire by default');
  assert.match(l.stdout, /x-teleport-authority UNKNOWN OPTION: 0000000b6578616d706c652e636f6d/, 'value "example.com"');
  assert.match(l.stdout, /x-teleport-role UNKNOWN OPTION: 000000044e6f6465/, 'value "Node"');
  assert.doesNotMatch(l.stdout, /permit-/);
  const y = openssh('ssh-keygen', ['-y', '-f', path.join(cwd, 'api.example.com')]);
  assert.equal(y.status, 0, y.stderr);
  const log = JSON.parse(issuedLines(dataDir).at(-1)!);
  assert.equal(log.type, 'host');
  assert.equal(log.keyId, 'api.example.com');
  assert.deepEqual(log.principals, ['api.example.com', 'ssh.example.com', '64.225.88.175', '64.225.88.178']);
  assert.equal(log.validBefore, 'forever');
  assert.match(log.caFingerprint, /^SHA256:/);
  assert.match(l.stdout, new RegExp(`Serial: ${log.serial}\n`));
});

test('user certificate: ttl, principals, permit-* and teleport extensions, critical options', () => {
  const { run, cwd } = initialisedCa();
  const r = run(['auth', 'sign', '--user=joe', '--format', 'openssh', '--out=joe', '--ttl=8h']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'The credentials have been written to joe, joe.pub, joe-cert.pub\n');
  const l = openssh('ssh-keygen', ['-L', '-f', path.join(cwd, 'joe-cert.pub')]).stdout;
  assert.match(l, /user certificate/);
  assert.match(l, /Key ID: "joe"/);
  assert.match(l, /Principals: \n\s+joe\n\s+Critical/);
  const [, from, to] = /Valid: from (\S+) to (\S+)/.exec(l)!;
  assert.equal((Date.parse(to!) - Date.parse(from!)) / 1000, 8 * 3600 + 60, 'backdated one minute');
  assert.match(l, /permit-X11-forwarding\n\s+permit-agent-forwarding\n\s+permit-port-forwarding\n\s+permit-pty\n\s+permit-user-rc\n\s+teleport-roles/);
  assert.match(l, /teleport-route-to-cluster/);

  const c = run(['auth', 'sign', '--user=ci', '--principals=deploy,ubuntu', '-o', 'ci', '--force-command=uptime', '--source-address=10.0.0.0/8,127.0.0.1', '--compat=oldssh']);
  assert.equal(c.status, 0, c.stderr);
  const lc = openssh('ssh-keygen', ['-L', '-f', path.join(cwd, 'ci-cert.pub')]).stdout;
  assert.match(lc, /Principals: \n\s+deploy\n\s+ubuntu\n/);
  assert.match(lc, /force-command uptime\n\s+source-address 10\.0\.0\.0\/8,127\.0\.0\.1/);
  assert.doesNotMatch(lc, /teleport-/, 'oldssh drops Teleport extensions');
  const [, f2, t2] = /Valid: from (\S+) to (\S+)/.exec(lc)!;
  assert.equal((Date.parse(t2!) - Date.parse(f2!)) / 1000, 12 * 3600 + 60, 'user default 12h');

  const h = run(['auth', 'sign', '--host=h.example.com', '--ttl=720h', '--compat=oldssh']);
  const lh = openssh('ssh-keygen', ['-L', '-f', path.join(cwd, 'h.example.com-cert.pub')]).stdout;
  assert.equal(h.status, 0);
  assert.match(lh, /Valid: from .* to /, 'host --ttl is honoured');
  assert.match(lh, /Extensions: \(none\)/);
});

test('every key type can be generated and signed; rsa CA signs with rsa-sha2-512', () => {
  const { run, cwd } = initialisedCa('rsa');
  for (const keyType of ['ed25519', 'ecdsa', 'rsa']) {
    const r = run(['auth', 'sign', `--user=u-${keyType}`, `--key-type=${keyType}`]);
    assert.equal(r.status, 0, r.stderr);
    const l = openssh('ssh-keygen', ['-L', '-f', path.join(cwd, `u-${keyType}-cert.pub`)]).stdout;
    assert.match(l, /\(using rsa-sha2-512\)/);
    assert.equal(openssh('ssh-keygen', ['-y', '-f', path.join(cwd, `u-${keyType}`)]).status, 0);
  }
});

test('--public-key signs an existing key and writes only the certificate', () => {
  const { run, cwd } = initialisedCa();
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-C', 'host', '-f', path.join(cwd, 'ssh_host_ecdsa_key')]).status, 0);
  const r = run(['auth', 'sign', '--host=api.example.com', '--public-key=ssh_host_ecdsa_key.pub', '--out=ssh_host_ecdsa_key']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'The credentials have been written to ssh_host_ecdsa_key-cert.pub\n');
  const l = openssh('ssh-keygen', ['-L', '-f', path.join(cwd, 'ssh_host_ecdsa_key-cert.pub')]).stdout;
  const fp = openssh('ssh-keygen', ['-l', '-f', path.join(cwd, 'ssh_host_ecdsa_key.pub')]).stdout.split(' ')[1];
  assert.match(l, new RegExp(`Public key: ECDSA-CERT ${fp!.replace(/[+/]/g, '\\$&')}`));
  assert.ok(!fs.existsSync(path.join(cwd, 'api.example.com')));
});

test('--public-key refuses what is not a usable public key, saying what it found', () => {
  const { run, cwd, dataDir } = initialisedCa();
  const w = (name: string, text: string) => fs.writeFileSync(path.join(cwd, name), text);
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(cwd, 'k')]).status, 0);
  run(['auth', 'sign', '--user=joe', '--public-key=k.pub', '--out=issued']);
  w('dsa.pub', 'ssh-dss AAAAB3NzaC1kc3MAAACBAP8= x\n');
  w('garbage.pub', 'hello world\n');
  w('empty.pub', '');
  const small = openssh('ssh-keygen', ['-q', '-t', 'rsa', '-b', '1024', '-N', '', '-f', path.join(cwd, 'small')]);
  const cases: Array<[string, RegExp]> = [
    ['dsa.pub', /found a DSA key/],
    ['k', /found a private key/],
    ['issued-cert.pub', /found a certificate/],
    ['garbage.pub', /not an (OpenSSH|SSH) public key/],
    ['empty.pub', /the file is empty/],
    ['missing.pub', /cannot read --public-key missing\.pub: no such file/],
    ['.', /is a directory/],
  ];
  if (small.status === 0) cases.push(['small.pub', /RSA key of 1024 bits is too small/]);
  const before = issuedLines(dataDir).length;
  for (const [file, re] of cases) {
    const r = run(['auth', 'sign', '--host=x.example.com', `--public-key=${file}`]);
    assert.equal(r.status, 1, file);
    assert.match(r.stderr, re, file);
    assert.match(r.stderr, /^tctl: error: /);
    noStack(r.stderr);
  }
  assert.ok(!fs.existsSync(path.join(cwd, 'x.example.com-cert.pub')));
  assert.equal(issuedLines(dataDir).length, before, 'no serial used, nothing logged');
});

test('bad command lines: one error line, usage exit code, no files, no state change', () => {
  const { run, cwd, dataDir } = initialisedCa();
  const serialBefore = fs.readFileSync(path.join(dataDir, 'serial'), 'utf8');
  const cases: Array<[string[], number, RegExp]> = [
    [[], 2, /--user or --host must be specified/],
    [['--host=a.example.com', '--user=joe'], 2, /^tctl: error: --user or --host must be specified\n/],
    [['--host=*.example.com'], 2, /wildcards are not allowed/],
    [['--host=a.example.com,,b.example.com'], 2, /empty entry/],
    [['--host='], 2, /--host is empty/],
    [['--user='], 2, /--user is empty/],
    [['--user=-rf'], 2, /must not start with "-"/],
    [['--user=joe,root'], 2, /must not contain ","/],
    [['--user=joe', '--ttl=8'], 2, /invalid --ttl "8"/],
    [['--user=joe', '--ttl='], 2, /--ttl is empty/],
    [['--user=joe', '--ttl=100000h'], 2, /maximum of 87600h/],
    [['--user=joe', '--key-type=dsa'], 2, /invalid --key-type "dsa"; allowed values: "ed25519", "ecdsa", "rsa"/],
    [['--user=joe', '--key-type=ED25519'], 2, /invalid --key-type/],
    [['--host=a.example.com', '--format=pkcs12'], 2, /invalid --format flag "pkcs12"; allowed values: "openssh", "tls", "db"/],
    [['--user=joe', '--compat=new'], 2, /invalid --compat/],
    [['--user=joe', '--out='], 2, /--out is empty/],
    [['--user=joe', '--out=a\tb'], 2, /control characters/],
    [['--user=joe', '--nope'], 2, /unknown option '--nope'/],
    [['--user=joe', 'extra'], 2, /too many arguments/],
    [['--user=joe', '--out=no/such/dir/joe'], 1, /directory no\/such\/dir does not exist/],
  ];
  for (const [args, code, re] of cases) {
    const r = run(['auth', 'sign', ...args]);
    assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.match(r.stderr, /^tctl: error: /);
    assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('tctl: error:')).length, 1);
    noStack(r.stderr);
  }
  assert.deepEqual(listing(cwd), []);
  assert.equal(fs.readFileSync(path.join(dataDir, 'serial'), 'utf8'), serialBefore);
  assert.ok(!fs.existsSync(path.join(dataDir, 'issued.jsonl')));
});

test('existing outputs are never replaced without --overwrite; symlinks and directories', () => {
  const { run, cwd } = initialisedCa();
  assert.equal(run(['auth', 'sign', '--user=joe']).status, 0);
  const key = fs.readFileSync(path.join(cwd, 'joe'));
  const cert = fs.readFileSync(path.join(cwd, 'joe-cert.pub'));
  const refused = run(['auth', 'sign', '--user=joe']);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /destination file\(s\) joe, joe\.pub, joe-cert\.pub exist/);
  assert.match(refused.stderr, /tctl: hint: use --overwrite/);
  assert.deepEqual(fs.readFileSync(path.join(cwd, 'joe')), key);
  assert.deepEqual(fs.readFileSync(path.join(cwd, 'joe-cert.pub')), cert);
  // Flags in any order.
  const ok = run(['auth', 'sign', '--overwrite', '--user=joe', '--out', 'joe']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.notDeepEqual(fs.readFileSync(path.join(cwd, 'joe')), key);
  assert.equal(mode(path.join(cwd, 'joe')), 0o600);

  // Only one of the pair existing still refuses, and the other is not created.
  fs.writeFileSync(path.join(cwd, 'solo-cert.pub'), 'keep me');
  assert.equal(run(['auth', 'sign', '--user=solo']).status, 1);
  assert.ok(!fs.existsSync(path.join(cwd, 'solo')));
  assert.equal(fs.readFileSync(path.join(cwd, 'solo-cert.pub'), 'utf8'), 'keep me');

  // A symlink is refused without --overwrite; with it the link is replaced, its target untouched.
  fs.writeFileSync(path.join(cwd, 'victim'), 'precious');
  fs.symlinkSync('victim', path.join(cwd, 'lnk'));
  assert.equal(run(['auth', 'sign', '--user=lnk']).status, 1);
  assert.equal(run(['auth', 'sign', '--user=lnk', '--overwrite']).status, 0);
  assert.equal(fs.readFileSync(path.join(cwd, 'victim'), 'utf8'), 'precious');
  assert.ok(!fs.lstatSync(path.join(cwd, 'lnk')).isSymbolicLink());
  assert.equal(mode(path.join(cwd, 'lnk')), 0o600);

  // A directory is refused even with --overwrite.
  fs.mkdirSync(path.join(cwd, 'dir'));
  const d = run(['auth', 'sign', '--user=dir', '--overwrite']);
  assert.equal(d.status, 1);
  assert.match(d.stderr, /cannot write dir: it is a directory/);
  assert.deepEqual(fs.readdirSync(path.join(cwd, 'dir')), []);
  assert.deepEqual(listing(cwd).filter((f) => f.includes('.tmp-')), [], 'no temp files left');
});

test('parallel signs never reuse a serial or lose a log line', async () => {
  const { cwd, dataDir } = initialisedCa();
  const n = 12;
  const runs = Array.from({ length: n }, (_, i) =>
    new Promise<number>((resolve) => {
      const p = spawn(process.execPath, [TCTL, 'auth', 'sign', `--user=u${i}`, '--data-dir', dataDir], { cwd, stdio: 'ignore' });
      p.on('exit', (code) => resolve(code ?? -1));
    }),
  );
  assert.deepEqual(await Promise.all(runs), Array(n).fill(0));
  const serials = issuedLines(dataDir).map((l) => JSON.parse(l).serial);
  assert.equal(serials.length, n);
  assert.equal(new Set(serials).size, n);
  for (let i = 0; i < n; i++) {
    const l = openssh('ssh-keygen', ['-L', '-f', path.join(cwd, `u${i}-cert.pub`)]).stdout;
    assert.ok(serials.includes(/Serial: (\d+)/.exec(l)![1]));
  }
  assert.equal(fs.readFileSync(path.join(dataDir, 'tctl.lock'), 'utf8'), '', 'the lock file stays (flock), its holder note cleared');
});

test('a lock left by a killed process is broken; a torn log line does not corrupt the next', () => {
  const { run, dataDir } = initialisedCa();
  fs.writeFileSync(path.join(dataDir, 'tctl.lock'), `999999 ${hostname()}\n`);
  fs.writeFileSync(path.join(dataDir, 'issued.jsonl'), '{"serial":"1","keyId":"torn');
  const staleTemp = path.join(dataDir, '.serial.tmp-999999-0badc0de');
  fs.writeFileSync(staleTemp, '12');
  const r = run(['auth', 'sign', '--user=joe']);
  assert.equal(r.status, 0, r.stderr);
  const lines = fs.readFileSync(path.join(dataDir, 'issued.jsonl'), 'utf8').split('\n');
  assert.equal(JSON.parse(lines[1]!).keyId, 'joe');
  assert.ok(!fs.existsSync(staleTemp), 'temp files of dead processes are removed');
});

test('on a terminal tctl asks before overwriting, with Teleport\'s wording', (t) => {
  const { cwd, dataDir } = initialisedCa();
  if (spawnSync('script', ['--version']).error) return t.skip('script(1) not installed');
  const inTty = (answer: string) =>
    spawnSync('script', ['-qec', `"${process.execPath}" "${TCTL}" auth sign --user=joe --data-dir "${dataDir}"`, '/dev/null'], {
      cwd,
      input: answer,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: cwd, NO_COLOR: '1' },
    });
  assert.equal(inTty('').status, 0);
  const key = fs.readFileSync(path.join(cwd, 'joe'));
  const no = inTty('n\n');
  assert.equal(no.status, 1);
  assert.match(no.stdout, /Destination file\(s\) joe, joe\.pub, joe-cert\.pub exist\. Overwrite\? \[y\/N\]/);
  assert.match(no.stdout, /tctl: error: not overwriting destination files joe, joe\.pub, joe-cert\.pub/);
  assert.deepEqual(fs.readFileSync(path.join(cwd, 'joe')), key);
  const yes = inTty('y\n');
  assert.equal(yes.status, 0);
  assert.notDeepEqual(fs.readFileSync(path.join(cwd, 'joe')), key);
});
