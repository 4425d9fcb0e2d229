// CA keys in a SoftHSM2 token through the command line: auth init makes every CA key in the token,
// sshd accepts certificates signed inside it (each SSH key type), a rotation makes its new key in
// the token, openssl verifies TLS certificates from a token-held CA, no private key file exists,
// and each way of failing to reach the token is one error line with nothing changed.
// Every tctl run is a child process with a time limit (see test/helpers/isolated.ts for why).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { LOGIN, esc, ok, sshdFor } from '../helpers/interop.js';
import { openssh, tctl, tempDir, type RunResult } from '../helpers/run.js';
import { SOFTHSM_MODULE, softHsmToken, type TestToken } from '../helpers/softhsm.js';
import { interopSkip, requireOpenSsh, sshRun } from '../helpers/sshd.js';

const skip = interopSkip() || (SOFTHSM_MODULE ? false : 'softhsm2 is not installed');
const TIMEOUT_MS = 90_000;

/** tctl with the token in its environment, killed after TIMEOUT_MS and retried once if it hung. */
function runner(cwd: string, dataDir: string, hsm: TestToken) {
  const conf = path.join(hsm.dir, 'softhsm2.conf');
  return (args: string[], env: Record<string, string | undefined> = {}): RunResult => {
    const all = {
      TCTL_DATA_DIR: dataDir, SOFTHSM2_CONF: conf, TCTL_PKCS11_MODULE: hsm.modulePath, TCTL_PKCS11_TOKEN_LABEL: hsm.label, TCTL_PKCS11_PIN_FILE: hsm.pinFile, ...env,
    };
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      const r = tctl(args, { cwd, env: all, timeoutMs: TIMEOUT_MS });
      if (r.status !== -1 || Date.now() - started < TIMEOUT_MS) return r;
      if (attempt === 2) assert.fail(`tctl ${args.join(' ')} hung twice`);
    }
  };
}

const keysDirPems = (dataDir: string) => fs.readdirSync(path.join(dataDir, 'keys'));
const state = (dataDir: string) => JSON.parse(fs.readFileSync(path.join(dataDir, 'state.json'), 'utf8'));

for (const keyType of ['ed25519', 'ecdsa', 'rsa'] as const) {
  test(`PKCS#11 (${keyType}): auth init keeps every CA key in the token; sshd accepts host and user certificates signed inside it`, { skip }, async (t) => {
    requireOpenSsh();
    const cwd = tempDir();
    const dataDir = path.join(cwd, 'ca');
    const file = (n: string) => path.join(cwd, n);
    // Keys made in this process's children before any tctl loads the module: ssh-keygen only.
    ok(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file('host')]), 'host key');
    ok(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file('alice')]), 'user key');
    const hsm = softHsmToken();
    const run = runner(cwd, dataDir, hsm);
    ok(run(['auth', 'init', '--cluster-name=example.com', `--ca-key-type=${keyType}`]), 'init');

    assert.deepEqual(keysDirPems(dataDir), [], 'no private key file in the data dir');
    const s = state(dataDir);
    const records = [s.authorities.user.current, s.authorities.host.current, ...Object.values(s.tls).map((a: any) => a.current)];
    assert.equal(records.length, 6);
    for (const r of records) {
      assert.equal(r.file, undefined);
      assert.equal(r.pkcs11.token, `token "${hsm.label}"`);
      assert.match(r.pkcs11.id, /^tctl:example\.com:(user|host|tls-host|tls-user|tls-db|tls-db-client):[0-9a-f]{16}$/);
    }
    const st = ok(run(['status']), 'status');
    assert.match(st.stdout, new RegExp(`user CA .*\\n {10}key: PKCS#11 token "${esc(hsm.label)}", label "tctl user CA example\\.com"`));

    fs.writeFileSync(file('user_ca.pub'), ok(run(['auth', 'export', '--type=user']), 'export user').stdout);
    fs.writeFileSync(file('known_hosts'), ok(run(['auth', 'export', '--type=host']), 'export host').stdout);
    ok(run(['auth', 'sign', '--host=api.example.com', `--public-key=${file('host.pub')}`, `--out=${file('host')}`]), 'sign host');
    ok(run(['auth', 'sign', '--user=alice', `--principals=${LOGIN}`, `--public-key=${file('alice.pub')}`, `--out=${file('alice')}`, '--ttl=1h']), 'sign user');
    const caAlg = keyType === 'rsa' ? 'rsa-sha2-512' : keyType === 'ecdsa' ? 'ecdsa-sha2-nistp256' : 'ssh-ed25519';
    assert.match(ok(openssh('ssh-keygen', ['-L', '-f', file('alice-cert.pub')]), 'ssh-keygen -L').stdout, new RegExp(`\\(using ${caAlg}\\)`));

    const sshd = await sshdFor(t, { dir: file('sshd'), hostKeys: [{ key: file('host'), certificate: file('host-cert.pub') }], trustedUserCaKeys: file('user_ca.pub') });
    const mark = sshd.mark();
    const r = sshRun({ port: sshd.port, key: file('alice'), knownHosts: file('known_hosts'), hostKeyAlias: 'api.example.com', verbose: true });
    assert.equal(r.status, 0, `ssh failed:\n${r.stderr}\n--- sshd ---\n${sshd.log().slice(mark)}`);
    assert.equal(r.stdout, 'ok\n');
    assert.match(r.stderr, /Host 'api\.example\.com' is known and matches the \S+-CERT host certificate/);
    await sshd.waitForLog(new RegExp(`Accepted publickey for ${esc(LOGIN)} .* ED25519-CERT SHA256:\\S+ ID alice `), mark);
  });
}

test('PKCS#11 via teleport.yaml: a rotation makes its new keys in the token; TLS certificates from token CAs verify with openssl', { skip }, () => {
  const cwd = tempDir();
  const dataDir = path.join(cwd, 'ca');
  const hsm = softHsmToken();
  const yaml = path.join(cwd, 'teleport.yaml');
  fs.writeFileSync(yaml, `teleport:\n  data_dir: ${dataDir}\nauth_service:\n  cluster_name: example.com\n  ca_key_params:\n    pkcs11:\n      module_path: ${hsm.modulePath}\n      token_label: ${hsm.label}\n      pin_path: ${hsm.pinFile}\n`);
  const conf = path.join(hsm.dir, 'softhsm2.conf');
  const run = (args: string[]) => tctl([`--config=${yaml}`, ...args], { cwd, env: { SOFTHSM2_CONF: conf }, timeoutMs: TIMEOUT_MS });
  ok(run(['auth', 'init']), 'init');
  ok(run(['auth', 'sign', '--format=db', '--host=db.example.com,10.0.0.5', '--out=db', '--ttl=1h']), 'sign db');
  fs.writeFileSync(path.join(cwd, 'db-ca.crt'), ok(run(['auth', 'export', '--type=db']), 'export db').stdout);
  const v = spawnSync('openssl', ['verify', '-CAfile', 'db-ca.crt', 'db.crt'], { cwd, encoding: 'utf8' });
  assert.equal(v.status, 0, v.stdout + v.stderr);
  ok(run(['auth', 'sign', '--format=tls', '--user=joe', '--out=joe', '--ttl=1h']), 'sign tls user');
  fs.writeFileSync(path.join(cwd, 'user-ca.crt'), ok(run(['auth', 'export', '--type=tls-user']), 'export tls-user').stdout);
  assert.equal(spawnSync('openssl', ['verify', '-CAfile', 'user-ca.crt', 'joe.crt'], { cwd }).status, 0);
  const crl = ok(run(['auth', 'crl', '--type=db-client', '--format=pem']), 'crl');
  fs.writeFileSync(path.join(cwd, 'c.crl'), crl.stdout);
  fs.writeFileSync(path.join(cwd, 'dbc.crt'), ok(run(['auth', 'export', '--type=db-client']), 'export').stdout);
  assert.equal(spawnSync('openssl', ['crl', '-in', 'c.crl', '-CAfile', 'dbc.crt', '-noout'], { cwd }).status, 0, 'the CRL signed in the token verifies');

  const before = state(dataDir);
  ok(run(['auth', 'rotate', '--type=user', '--manual', '--phase=init']), 'rotate');
  const after = state(dataDir);
  for (const next of [after.authorities.user.next, after.tls.user.next]) {
    assert.equal(next.file, undefined);
    assert.match(next.pkcs11.id, /^tctl:example\.com:(user|tls-user):/);
  }
  assert.notEqual(after.authorities.user.next.pkcs11.id, before.authorities.user.current.pkcs11.id);
  ok(run(['auth', 'rotate', '--type=user', '--manual', '--phase=update_clients']), 'update_clients');
  ok(run(['auth', 'sign', '--user=ann', '--out=ann', '--ttl=1h']), 'sign with the new key');
  const l = ok(openssh('ssh-keygen', ['-L', '-f', path.join(cwd, 'ann-cert.pub')]), 'ssh-keygen -L').stdout;
  assert.match(l, new RegExp(esc(after.authorities.user.next.fingerprint)));
  assert.deepEqual(keysDirPems(dataDir), []);
});

test('PKCS#11 failures: wrong PIN, missing module, missing token, missing key, no configuration: one error line, exit 1, state unchanged', { skip }, () => {
  const cwd = tempDir();
  const dataDir = path.join(cwd, 'ca');
  const hsm = softHsmToken();
  const run = runner(cwd, dataDir, hsm);
  ok(run(['auth', 'init', '--cluster-name=example.com']), 'init');
  const wrongPin = path.join(cwd, 'wrong-pin');
  fs.writeFileSync(wrongPin, '000000\n');
  const stateBefore = fs.readFileSync(path.join(dataDir, 'state.json'), 'utf8');
  const cases: Array<[Record<string, string | undefined>, RegExp]> = [
    [{ TCTL_PKCS11_PIN_FILE: wrongPin }, /^tctl: error: wrong PIN for PKCS#11 token "tctl-test"\n/],
    [{ TCTL_PKCS11_MODULE: path.join(cwd, 'no-such.so') }, /^tctl: error: PKCS#11 module \S+no-such\.so not found\n/],
    [{ TCTL_PKCS11_TOKEN_LABEL: 'elsewhere' }, /^tctl: error: PKCS#11 token "elsewhere" not found in \S+\ntctl: hint: tokens present: /],
    [{ TCTL_PKCS11_MODULE: undefined, TCTL_PKCS11_TOKEN_LABEL: undefined, TCTL_PKCS11_PIN_FILE: undefined }, /^tctl: error: CA key "tctl user CA example\.com" needs the PKCS#11 token, and PKCS#11 is not configured\n/],
  ];
  for (const [env, pattern] of cases) {
    const r = run(['auth', 'sign', '--user=joe', '--out=joe'], env);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.split('\n').filter((x) => x.startsWith('tctl: error:')).length, 1);
    assert.equal(fs.existsSync(path.join(cwd, 'joe-cert.pub')), false);
    const rot = run(['auth', 'rotate', '--type=host', '--manual', '--phase=init'], env);
    assert.equal(rot.status, 1);
    assert.equal(fs.readFileSync(path.join(dataDir, 'state.json'), 'utf8'), stateBefore, 'nothing changed');
  }
  // The key deleted from the token (another token with the same label stands in for it).
  const other = softHsmToken();
  const r = runner(cwd, dataDir, other)(['auth', 'sign', '--user=joe', '--out=joe']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^tctl: error: CA key "tctl:example\.com:user:[0-9a-f]{16}" not found in PKCS#11 token "tctl-test"\n/);
});
