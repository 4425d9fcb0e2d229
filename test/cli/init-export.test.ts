import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { TCTL, initialisedCa, tctl, tempDir } from '../helpers/run.js';

const mode = (p: string) => fs.statSync(p).mode & 0o777;
const noStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) {
      const p = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
      out[path.relative(dir, p)] = fs.readFileSync(p, 'base64');
    }
  }
  return out;
}

test('init creates a 0700 data dir (whatever the umask) with 0600 keys; re-init changes nothing', () => {
  const cwd = tempDir();
  const dataDir = path.join(cwd, 'deep', 'ca');
  const r = spawnSync('sh', ['-c', `umask 000; exec "${process.execPath}" "${TCTL}" auth init --cluster-name=example.com --data-dir "${dataDir}"`], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: cwd } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /user CA\s+ed25519\s+SHA256:/);
  assert.equal(mode(dataDir), 0o700);
  assert.equal(mode(path.join(cwd, 'deep')), 0o700);
  const keys = fs.readdirSync(path.join(dataDir, 'keys'));
  assert.equal(keys.length, 6); // user and host SSH keys, and the four TLS CA keys
  for (const k of keys) assert.equal(mode(path.join(dataDir, 'keys', k)), 0o600);
  assert.equal(mode(path.join(dataDir, 'state.json')), 0o600);

  const before = snapshot(dataDir);
  const again = tctl(['auth', 'init', '--cluster-name=other.com', '--data-dir', dataDir], { cwd });
  assert.equal(again.status, 1);
  assert.match(again.stderr, /^tctl: error: data dir .* is already initialised$/m);
  assert.deepEqual(snapshot(dataDir), before);
});

test('commands on an uninitialised data dir fail with a hint to run tctl auth init', () => {
  const cwd = tempDir();
  for (const args of [['auth', 'export'], ['auth', 'sign', '--host=a.example.com'], ['status']]) {
    const r = tctl([...args, '--data-dir', path.join(cwd, 'nope')], { cwd });
    assert.equal(r.status, 1, args.join(' '));
    assert.match(r.stderr, /tctl: error: data dir .* is not initialised/);
    assert.match(r.stderr, /tctl: hint: run "tctl auth init --cluster-name=NAME"/);
    noStack(r.stderr);
  }
  assert.deepEqual(fs.readdirSync(cwd), []);
});

test('init with each CA key type; rsa is 3072 bits', () => {
  for (const [keyType, prefix] of [['ecdsa', 'ecdsa-sha2-nistp256 '], ['rsa', 'ssh-rsa ']] as const) {
    const { run } = initialisedCa(keyType);
    const r = run(['auth', 'export', '--type=user']);
    assert.equal(r.status, 0);
    assert.ok(r.stdout.startsWith(prefix), r.stdout);
    if (keyType === 'rsa') {
      const st = run(['status', '--json']);
      assert.equal(JSON.parse(st.stdout).authorities.user.keyType, 'rsa');
      assert.ok(Buffer.from(r.stdout.split(' ')[1]!, 'base64').length > 384, 'RSA modulus of 3072 bits');
    }
  }
});

test('export: Teleport line formats, types, fingerprint filter', () => {
  const { run } = initialisedCa();
  const user = run(['auth', 'export', '--type=user']);
  assert.equal(user.status, 0);
  assert.equal(user.stderr, '');
  assert.match(user.stdout, /^ssh-ed25519 AAAA[A-Za-z0-9+/=]+ clustername=example\.com&type=user\n$/);
  assert.equal(run(['auth', 'export', '--type', 'user']).stdout, user.stdout);
  assert.equal(run(['auth', 'export', '--type=openssh']).stdout, user.stdout);
  // The common Teleport idiom is a harmless no-op on our lines.
  assert.equal(user.stdout.replace(/cert-authority /, ''), user.stdout);

  const host = run(['auth', 'export', '--type=host']);
  assert.match(host.stdout, /^@cert-authority example\.com,\*\.example\.com ssh-ed25519 AAAA[A-Za-z0-9+/=]+ type=host\n$/);
  assert.equal(run(['auth', 'export']).stdout, host.stdout + user.stdout);

  const ak = run(['auth', 'export', '--type=user', '--format=authorized_keys']);
  assert.equal(ak.stdout, `cert-authority ${user.stdout}`);
  const wide = run(['auth', 'export', '--type=host', '--host-patterns=*.corp.example.com,10.0.0.*']);
  assert.match(wide.stdout, /^@cert-authority \*\.corp\.example\.com,10\.0\.0\.\* ssh-ed25519 /);

  const status = JSON.parse(run(['status', '--json']).stdout);
  const fp: string = status.authorities.user.fingerprint;
  assert.equal(run(['auth', 'export', `--fingerprint=${fp}`]).stdout, user.stdout);
  const none = run(['auth', 'export', '--fingerprint=SHA256:nothing']);
  assert.equal(none.status, 0);
  assert.equal(none.stdout, '');
});

test('export: bad values are usage errors naming the allowed values', () => {
  const { run } = initialisedCa();
  for (const [args, re] of [
    [['--type=USER'], /invalid --type "USER"; allowed values: "user", "host", "openssh"/],
    [['--type=all'], /allowed values/],
    [['--type='], /--type is empty/],
    [['--format=pem'], /invalid --format "pem"/],
    [['--type=host', '--format=authorized_keys'], /applies to --type=user only/],
    [['--fingerprint='], /--fingerprint is empty/],
    [['--bogus'], /unknown option '--bogus'/],
    [['extra'], /too many arguments/],
  ] as const) {
    const r = run(['auth', 'export', ...args]);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, re);
    assert.match(r.stderr, /^tctl: error: /);
    assert.equal(r.stdout, '');
    noStack(r.stderr);
  }
});

test('global options work before and after the subcommand; flags beat env beat config', () => {
  const a = initialisedCa('ed25519', 'a.example.com');
  const b = initialisedCa('ed25519', 'b.example.com');
  const cwd = tempDir();
  const before = tctl(['--data-dir', a.dataDir, 'auth', 'export', '--type=host'], { cwd });
  const after = tctl(['auth', 'export', '--type=host', `--data-dir=${a.dataDir}`], { cwd });
  assert.match(before.stdout, /a\.example\.com,\*\.a\.example\.com/);
  assert.equal(after.stdout, before.stdout);
  // env vs flag
  const flagWins = tctl(['auth', 'export', '--type=host', '--data-dir', a.dataDir], { cwd, env: { TCTL_DATA_DIR: b.dataDir } });
  assert.equal(flagWins.stdout, before.stdout);
  // config vs env
  const config = path.join(cwd, 'teleport.yaml');
  fs.writeFileSync(config, `teleport:\n  data_dir: ${a.dataDir}\nauth_service:\n  cluster_name: c.example.com\n`);
  assert.match(tctl(['-c', config, 'auth', 'export', '--type=host'], { cwd }).stdout, /a\.example\.com/);
  assert.match(tctl(['auth', 'export', '--type=host', '--config', config], { cwd, env: { TCTL_DATA_DIR: b.dataDir } }).stdout, /b\.example\.com/);
  // config supplies the cluster name to init
  const fresh = path.join(cwd, 'fresh');
  fs.writeFileSync(config, `teleport:\n  data_dir: ${fresh}\nauth_service:\n  cluster_name: c.example.com\n`);
  assert.equal(tctl(['auth', 'init', '--config', config], { cwd }).status, 0);
  assert.match(tctl(['status', '--config', config], { cwd }).stdout, /c\.example\.com/);
  const empty = tctl(['auth', 'export', '--data-dir='], { cwd });
  assert.equal(empty.status, 2);
  assert.match(empty.stderr, /--data-dir is empty/);
  const badYaml = path.join(cwd, 'bad.yaml');
  fs.writeFileSync(badYaml, 'teleport: [\n');
  const r = tctl(['status', '-c', badYaml], { cwd });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /not valid YAML/);
});

test('Teleport-only remote flags are refused, not ignored', () => {
  const { run } = initialisedCa();
  for (const flag of [['--auth-server=proxy.example.com:3025'], ['-i', 'identity.pem']]) {
    const r = run([...flag, 'auth', 'export']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not supported: this tctl keeps its certificate authority in a data dir or PostgreSQL, not on an auth server/);
    assert.equal(r.stdout, '');
  }
});

test('a damaged data dir is named, and nothing is exported or signed', () => {
  const { run, dataDir, cwd } = initialisedCa();
  const state = path.join(dataDir, 'state.json');
  const good = fs.readFileSync(state);
  fs.writeFileSync(state, good.subarray(0, 50));
  for (const args of [['auth', 'export'], ['auth', 'sign', '--host=a.example.com'], ['status']]) {
    const r = run(args);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /state\.json is damaged/);
    assert.equal(r.stdout, '');
    noStack(r.stderr);
  }
  fs.writeFileSync(state, good);
  const keyFile = path.join(dataDir, JSON.parse(good.toString()).authorities.host.current.file);
  fs.writeFileSync(keyFile, '-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n');
  for (const args of [['auth', 'sign', '--host=a.example.com'], ['auth', 'export', '--type=host'], ['auth', 'export'], ['status']]) {
    const r = run(args);
    assert.equal(r.status, 1, args.join(' '));
    assert.match(r.stderr, /CA key .*host-ca-.*\.pem is damaged/);
    assert.equal(r.stdout, '');
  }
  assert.equal(run(['auth', 'export', '--type=user']).status, 0, 'the user CA is intact');
  assert.ok(!fs.existsSync(path.join(cwd, 'a.example.com')));
  assert.ok(!fs.existsSync(path.join(cwd, 'a.example.com-cert.pub')));

  // A garbled public key in state.json is caught before it is exported.
  const garbled = JSON.parse(good.toString());
  garbled.authorities.user.current.publicKey = garbled.authorities.host.current.publicKey;
  fs.writeFileSync(state, JSON.stringify(garbled));
  const g = run(['auth', 'export', '--type=user']);
  assert.equal(g.status, 1);
  assert.match(g.stderr, /state\.json is damaged: authorities\.user\.current\.publicKey does not match its fingerprint/);
});

test('help and version', () => {
  const cwd = tempDir();
  assert.equal(tctl(["--version"], { cwd }).stdout, tctl(["version"], { cwd }).stdout);
  assert.match(tctl(['version'], { cwd }).stdout, /^tctl v\d+\.\d+\.\d+\n$/);
  for (const args of [['--help'], ['auth', '--help'], ['auth', 'init', '--help'], ['auth', 'export', '--help'], ['auth', 'sign', '--help'], ['status', '--help']]) {
    const r = tctl(args, { cwd });
    assert.equal(r.status, 0, args.join(' '));
    assert.match(r.stdout, /Examples:\n  tctl /, args.join(' '));
  }
});

test('unknown flags and commands name the closest one and the subcommand help', () => {
  const cwd = tempDir();
  const cases: Array<[string[], RegExp, RegExp]> = [
    [['auth', 'sign', '--principal=root'], /unknown option '--principal=root'/, /did you mean --principals\? see "tctl auth sign --help"/],
    [['auth', 'sign', '--usr', 'joe'], /unknown option '--usr'/, /did you mean --user\? see "tctl auth sign --help"/],
    [['auth', 'inspec', 'x'], /unknown command 'inspec' for "tctl auth"/, /did you mean inspect\? see "tctl auth --help"/],
    [['autj', 'sign'], /unknown command 'autj'/, /did you mean auth\? see "tctl --help"/],
    [['status', '--jsn'], /unknown option '--jsn'/, /did you mean --json\? see "tctl status --help"/],
    [['audit', 'verfy'], /unknown command 'verfy' for "tctl audit"/, /did you mean verify\? see "tctl audit --help"/],
    [['auth', 'sign', '--ttl'], /option '--ttl <duration>' argument missing/, /^tctl: hint: see "tctl auth sign --help"$/m],
    [['auth', 'sign', '--zzzzzzzzzz'], /unknown option '--zzzzzzzzzz'/, /^tctl: hint: see "tctl auth sign --help"$/m],
  ];
  for (const [args, error, hint] of cases) {
    const r = tctl(args, { cwd });
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, r.stderr);
    assert.match(lines[0]!, /^tctl: error: /);
    assert.match(lines[0]!, error);
    assert.match(lines[1]!, hint);
  }
});
