// Interop with the OpenSSH that ships with the OS: a real sshd trusts our user CA and presents
// our host certificate, a real ssh verifies it against our known_hosts export, and ssh-keygen
// reads every certificate and private key we write. No mocks: if these pass, a fleet works.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initialisedCa, openssh } from '../helpers/run.js';
import type { RunResult } from '../helpers/run.js';
import { interopSkip, requireOpenSsh, sshRun } from '../helpers/sshd.js';
import { LOGIN, esc, fingerprintOfLine, ok, sshdFor } from '../helpers/interop.js';

// ssh-keygen -L prints validity in local time; pin it so from/to arithmetic ignores DST.
process.env.TZ = 'UTC';

const skip = interopSkip();
const HOST_NAMES = ['api.example.com', 'ssh.example.com', '127.0.0.1'];

type KeyType = 'ed25519' | 'ecdsa' | 'rsa';

/** How OpenSSH names each key type: the key, its certificate, the CA signature, ssh-keygen's label. */
const OPENSSH_NAMES: Record<KeyType, { key: string; cert: string; signature: string; label: string }> = {
  ed25519: { key: 'ssh-ed25519', cert: 'ssh-ed25519-cert-v01@openssh.com', signature: 'ssh-ed25519', label: 'ED25519' },
  ecdsa: { key: 'ecdsa-sha2-nistp256', cert: 'ecdsa-sha2-nistp256-cert-v01@openssh.com', signature: 'ecdsa-sha2-nistp256', label: 'ECDSA' },
  // An RSA CA must sign with SHA-512: OpenSSH 8.8+ refuses ssh-rsa (SHA-1) signatures on certificates.
  rsa: { key: 'ssh-rsa', cert: 'ssh-rsa-cert-v01@openssh.com', signature: 'rsa-sha2-512', label: 'RSA' },
};

const PERMITS = ['permit-X11-forwarding', 'permit-agent-forwarding', 'permit-port-forwarding', 'permit-pty', 'permit-user-rc'];



interface CertListing {
  type: string;
  publicKey: string;
  signingCa: string;
  keyId: string;
  valid: string;
  principals: string[];
  /** name -> the value as ssh-keygen shows it ('' for flag extensions) */
  extensions: Map<string, string>;
  text: string;
}

/** Runs `ssh-keygen -L` and splits its listing into fields. */
function listCertificate(file: string): CertListing {
  const r = ok(openssh('ssh-keygen', ['-L', '-f', file]), `ssh-keygen -L -f ${file}`);
  const fields = new Map<string, string>();
  const lists = new Map<string, string[]>();
  let section = '';
  for (const line of r.stdout.split('\n')) {
    const item = /^ {16}(.*)$/.exec(line);
    if (item) {
      lists.get(section)?.push(item[1]!);
      continue;
    }
    const field = /^ {8}([^:]+): ?(.*)$/.exec(line);
    if (field) {
      section = field[1]!;
      fields.set(section, field[2]!.trim());
      lists.set(section, []);
    }
  }
  const extensions = new Map<string, string>();
  for (const e of lists.get('Extensions') ?? []) {
    const [name, ...value] = e.split(' ');
    extensions.set(name!, value.join(' '));
  }
  return {
    type: fields.get('Type') ?? '',
    publicKey: fields.get('Public key') ?? '',
    signingCa: fields.get('Signing CA') ?? '',
    keyId: fields.get('Key ID') ?? '',
    valid: fields.get('Valid') ?? '',
    principals: lists.get('Principals') ?? [],
    extensions,
    text: r.stdout,
  };
}

/** ssh-keygen shows an unknown extension's value as hex of an SSH string; this reads it back. */
function unknownExtensionValue(shown: string | undefined): string {
  const hex = /^UNKNOWN OPTION: ([0-9a-f]+) \(len \d+\)$/.exec(shown ?? '')?.[1];
  assert.ok(hex, `not an encoded extension value: ${shown}`);
  const buf = Buffer.from(hex, 'hex');
  assert.equal(buf.readUInt32BE(0), buf.length - 4, 'the value is exactly one SSH string');
  return buf.subarray(4).toString('utf8');
}

interface Expected {
  kind: 'host' | 'user';
  keyType: KeyType;
  keyId: string;
  principals: string[];
  caType: KeyType;
  caFingerprint: string;
}

/** ssh-keygen -L agrees with what we asked for; -y reads the private key (if any) and it matches. */
function checkWithSshKeygen(certFile: string, privateKey: string | undefined, want: Expected): CertListing {
  const c = listCertificate(certFile);
  const names = OPENSSH_NAMES[want.keyType];
  const ca = OPENSSH_NAMES[want.caType];
  assert.equal(c.type, `${names.cert} ${want.kind} certificate`, c.text);
  assert.equal(c.keyId, JSON.stringify(want.keyId), c.text);
  assert.deepEqual(c.principals, want.principals, c.text);
  assert.equal(c.signingCa, `${ca.label} ${want.caFingerprint} (using ${ca.signature})`, c.text);
  assert.doesNotMatch(c.text, /\(using ssh-rsa\)/, 'never a SHA-1 signature');
  assert.match(c.text, /Critical Options: \(none\)\n/);
  if (want.kind === 'host') {
    assert.deepEqual([...c.extensions.keys()], ['x-teleport-authority', 'x-teleport-role'], c.text);
    assert.equal(unknownExtensionValue(c.extensions.get('x-teleport-authority')), 'example.com');
    assert.equal(unknownExtensionValue(c.extensions.get('x-teleport-role')), 'Node');
  } else {
    for (const p of PERMITS) assert.equal(c.extensions.get(p), '', `${p} in\n${c.text}`);
    assert.ok(![...c.extensions.keys()].some((k) => k.startsWith('x-teleport-')), c.text);
  }
  const [label, certKeyFingerprint] = c.publicKey.split(' ');
  assert.equal(label, `${names.label}-CERT`, c.text);

  const certLine = fs.readFileSync(certFile, 'utf8');
  assert.ok(certLine.startsWith(`${names.cert} `), certLine);
  if (privateKey !== undefined) {
    const y = ok(openssh('ssh-keygen', ['-y', '-f', privateKey]), `ssh-keygen -y -f ${privateKey}`);
    assert.ok(y.stdout.startsWith(`${names.key} `), y.stdout);
    assert.equal(fingerprintOfLine(y.stdout), certKeyFingerprint, 'the private key is the certificate\'s key');
  }
  return c;
}

/** Runs tctl and saves its stdout, as `tctl ... > file` would. */
function exportTo(run: (args: string[]) => RunResult, args: string[], file: string): string {
  const r = ok(run(args), `tctl ${args.join(' ')}`);
  fs.writeFileSync(file, r.stdout);
  return r.stdout;
}


function refused(r: RunResult, what: string): void {
  assert.equal(r.status, 255, `${what}: ssh should fail; stdout=${JSON.stringify(r.stdout)}\n${r.stderr}`);
  assert.equal(r.stdout, '', what);
}

const CASES: Array<{ ca: KeyType; hostKey: KeyType; userKey: KeyType }> = [
  { ca: 'ed25519', hostKey: 'ed25519', userKey: 'ed25519' },
  { ca: 'ecdsa', hostKey: 'ecdsa', userKey: 'rsa' },
  { ca: 'rsa', hostKey: 'rsa', userKey: 'ecdsa' },
];

for (const { ca: caType, hostKey, userKey } of CASES) {
  test(`${caType} CA: sshd and ssh accept our certificates (${hostKey} host key, ${userKey} user key) and refuse the wrong ones`, { skip }, async (t) => {
    requireOpenSsh();
    const { cwd, run } = initialisedCa(caType);
    const file = (name: string) => path.join(cwd, name);

    const userCa = exportTo(run, ['auth', 'export', '--type=user'], file('user_ca.pub'));
    const hostCa = exportTo(run, ['auth', 'export', '--type=host'], file('known_hosts'));
    assert.equal(userCa.trim().split('\n').length, 1, userCa);
    assert.match(hostCa, /^@cert-authority example\.com,\*\.example\.com \S+ \S+ type=host\n$/);
    const userCaFp = fingerprintOfLine(userCa);
    const hostCaFp = fingerprintOfLine(hostCa.split(' ').slice(2).join(' '));
    assert.notEqual(userCaFp, hostCaFp, 'user and host CAs are different keys');

    // Signed first so that it has expired by the time sshd sees it (valid for 1 s, back-dated 60 s).
    ok(run(['auth', 'sign', '--user=late', `--principals=${LOGIN}`, '--ttl=1s', '--out=late']), 'sign expired');
    const expiredAfter = (Math.floor(Date.now() / 1000) + 1) * 1000;

    ok(run(['auth', 'sign', `--host=${HOST_NAMES.join(',')}`, `--key-type=${hostKey}`, '--out=host']), 'sign host');
    ok(run(['auth', 'sign', '--user=alice', `--principals=${LOGIN}`, `--key-type=${userKey}`, '--ttl=8h', '--out=alice']), 'sign user');
    ok(run(['auth', 'sign', '--user=mallory', '--principals=nobody-else', '--out=mallory']), 'sign other principal');
    // The same request to a different CA: same cluster name, but sshd does not trust its key.
    const otherDataDir = file('other-ca');
    const other = (args: string[]) => run(args, { env: { TCTL_DATA_DIR: otherDataDir } });
    ok(other(['auth', 'init', '--cluster-name=example.com']), 'init other CA');
    ok(other(['auth', 'sign', '--user=alice', `--principals=${LOGIN}`, '--out=stranger']), 'sign with other CA');
    const otherCaFp = fingerprintOfLine(ok(other(['auth', 'export', '--type=user']), 'export other').stdout);

    await t.test('ssh-keygen reads every certificate and private key we wrote', () => {
      const host = { kind: 'host' as const, caType, caFingerprint: hostCaFp };
      const user = { kind: 'user' as const, caType, caFingerprint: userCaFp };
      checkWithSshKeygen(file('host-cert.pub'), file('host'), { ...host, keyType: hostKey, keyId: 'api.example.com', principals: HOST_NAMES });
      const alice = checkWithSshKeygen(file('alice-cert.pub'), file('alice'), { ...user, keyType: userKey, keyId: 'alice', principals: [LOGIN] });
      const [, from, to] = /^from (\S+) to (\S+)$/.exec(alice.valid) ?? [];
      assert.equal((Date.parse(to!) - Date.parse(from!)) / 1000, 8 * 3600 + 60, `--ttl=8h, back-dated a minute: ${alice.valid}`);
      checkWithSshKeygen(file('mallory-cert.pub'), file('mallory'), { ...user, keyType: 'ed25519', keyId: 'mallory', principals: ['nobody-else'] });
      checkWithSshKeygen(file('late-cert.pub'), file('late'), { ...user, keyType: 'ed25519', keyId: 'late', principals: [LOGIN] });
      checkWithSshKeygen(file('stranger-cert.pub'), file('stranger'), {
        ...user, caType: 'ed25519', caFingerprint: otherCaFp, keyType: 'ed25519', keyId: 'alice', principals: [LOGIN],
      });
    });

    const sshd = await sshdFor(t, {
      dir: file('sshd'),
      hostKeys: [{ key: file('host'), certificate: file('host-cert.pub') }],
      trustedUserCaKeys: file('user_ca.pub'),
    });
    const login = (key: string, alias: string, verbose = false) =>
      sshRun({ port: sshd.port, key: file(key), knownHosts: file('known_hosts'), hostKeyAlias: alias, verbose });
    const hostCertLabel = `${OPENSSH_NAMES[hostKey].label}-CERT`;
    const userCertLabel = `${OPENSSH_NAMES[userKey].label}-CERT`;

    for (const alias of ['api.example.com', 'ssh.example.com']) {
      await t.test(`ssh verifies the host certificate as ${alias} and logs in with the user certificate`, async () => {
        const mark = sshd.mark();
        const r = login('alice', alias, true);
        assert.equal(r.status, 0, `ssh failed:\n${r.stderr}\n--- sshd ---\n${sshd.log().slice(mark)}`);
        assert.equal(r.stdout, 'ok\n');
        // The client trusted the host because of our @cert-authority line, not by some other route.
        // "valid after" with no end: host certificates never expire unless --ttl is given.
        const shown = new RegExp(`Server host certificate: \\S+ SHA256:\\S+, serial \\d+ ID "api\\.example\\.com" CA \\S+ ${esc(hostCaFp)} valid after \\S+\\r?\\n`);
        assert.match(r.stderr, shown);
        assert.match(r.stderr, new RegExp(`Host '${esc(alias)}' is known and matches the ${hostCertLabel} host certificate`));
        await sshd.waitForLog(
          new RegExp(`Accepted publickey for ${esc(LOGIN)} from 127\\.0\\.0\\.1 port \\d+ ssh2: ${userCertLabel} SHA256:\\S+ ID alice \\(serial \\d+\\) CA ${OPENSSH_NAMES[caType].label} ${esc(userCaFp)}`),
          mark,
        );
      });
    }

    await t.test('a host name that is not a principal fails host verification (though *.example.com matches it)', async () => {
      const mark = sshd.mark();
      const r = login('alice', 'other.example.com');
      refused(r, 'HostKeyAlias=other.example.com');
      assert.match(r.stderr, /Certificate invalid: name is not a listed principal/);
      assert.match(r.stderr, /Host key verification failed\./);
      await sshd.waitForLog(/Connection closed by 127\.0\.0\.1 port \d+ \[preauth\]/, mark);
      assert.doesNotMatch(sshd.log().slice(mark), /Accepted|publickey/, 'the client gave up before authenticating');
    });

    await t.test('a user certificate from another CA is refused', async () => {
      const mark = sshd.mark();
      const r = login('stranger', 'api.example.com');
      refused(r, 'certificate from another CA');
      assert.match(r.stderr, /Permission denied \(publickey\)/);
      // At VERBOSE sshd names the untrusted CA rather than saying "not trusted" (that is debug2).
      const log = await sshd.waitForLog(
        new RegExp(`Failed publickey for ${esc(LOGIN)} from .* ssh2: ED25519-CERT SHA256:\\S+ ID alice \\(serial \\d+\\) CA ED25519 ${esc(otherCaFp)}`),
        mark,
      );
      assert.doesNotMatch(log, /Accepted/);
    });

    await t.test('a user certificate without the login as a principal is refused', async () => {
      const mark = sshd.mark();
      const r = login('mallory', 'api.example.com');
      refused(r, 'certificate for another principal');
      assert.match(r.stderr, /Permission denied \(publickey\)/);
      const log = await sshd.waitForLog(/Certificate invalid: name is not a listed principal/, mark);
      assert.doesNotMatch(log, /Accepted/);
    });

    await t.test('an expired user certificate is refused', async () => {
      const wait = expiredAfter + 50 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const mark = sshd.mark();
      const r = login('late', 'api.example.com');
      refused(r, 'expired certificate');
      assert.match(r.stderr, /Permission denied \(publickey\)/);
      const log = await sshd.waitForLog(/Certificate invalid: expired/, mark);
      assert.doesNotMatch(log, /Accepted/);
    });
  });
}

test('--public-key: sshd host keys and a user key made by ssh-keygen are certified in place', { skip }, async (t) => {
  requireOpenSsh();
  const { cwd, run } = initialisedCa('ed25519');
  const file = (name: string) => path.join(cwd, name);
  exportTo(run, ['auth', 'export', '--type=user'], file('user_ca.pub'));
  exportTo(run, ['auth', 'export', '--type=host'], file('known_hosts'));
  const hostCaFp = fingerprintOfLine(fs.readFileSync(file('known_hosts'), 'utf8').split(' ').slice(2).join(' '));
  const userCaFp = fingerprintOfLine(fs.readFileSync(file('user_ca.pub'), 'utf8'));

  // What an sshd package generates at install time, one key of each kind.
  const hostKeys: Array<[KeyType, string]> = [['ed25519', 'ssh_host_ed25519_key'], ['ecdsa', 'ssh_host_ecdsa_key'], ['rsa', 'ssh_host_rsa_key']];
  for (const [type, name] of hostKeys) {
    ok(openssh('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'root@host', '-f', file(name)]), `ssh-keygen -t ${type}`);
    const before = fs.readFileSync(file(name), 'utf8');
    const r = ok(run(['auth', 'sign', `--host=${HOST_NAMES.join(',')}`, `--public-key=${file(`${name}.pub`)}`, `--out=${file(name)}`]), `sign ${name}`);
    assert.equal(r.stdout, `The credentials have been written to ${file(`${name}-cert.pub`)}\n`);
    assert.equal(fs.readFileSync(file(name), 'utf8'), before, 'the private key is left alone');
    checkWithSshKeygen(file(`${name}-cert.pub`), file(name), { kind: 'host', keyType: type, keyId: 'api.example.com', principals: HOST_NAMES, caType: 'ed25519', caFingerprint: hostCaFp });
  }
  // The usual user flow: the user keeps their key, the CA only certifies the .pub.
  ok(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@laptop', '-f', file('id_ed25519')]), 'ssh-keygen user key');
  ok(run(['auth', 'sign', '--user=alice', `--principals=${LOGIN}`, `--public-key=${file('id_ed25519.pub')}`, `--out=${file('id_ed25519')}`]), 'sign user key');
  checkWithSshKeygen(file('id_ed25519-cert.pub'), file('id_ed25519'), { kind: 'user', keyType: 'ed25519', keyId: 'alice', principals: [LOGIN], caType: 'ed25519', caFingerprint: userCaFp });

  const sshd = await sshdFor(t, {
    dir: file('sshd'),
    hostKeys: hostKeys.map(([, name]) => ({ key: file(name), certificate: file(`${name}-cert.pub`) })),
    trustedUserCaKeys: file('user_ca.pub'),
  });
  // Pinning the algorithm makes sshd present each host certificate in turn.
  const algorithms = ['ssh-ed25519-cert-v01@openssh.com', 'ecdsa-sha2-nistp256-cert-v01@openssh.com', 'rsa-sha2-512-cert-v01@openssh.com', 'rsa-sha2-256-cert-v01@openssh.com'];
  for (const algorithm of algorithms) {
    await t.test(`ssh verifies the ${algorithm} host certificate and logs in`, async () => {
      const mark = sshd.mark();
      const r = sshRun({
        port: sshd.port, key: file('id_ed25519'), knownHosts: file('known_hosts'), hostKeyAlias: 'ssh.example.com',
        options: [`HostKeyAlgorithms=${algorithm}`], verbose: true,
      });
      assert.equal(r.status, 0, `ssh failed:\n${r.stderr}\n--- sshd ---\n${sshd.log().slice(mark)}`);
      assert.equal(r.stdout, 'ok\n');
      assert.match(r.stderr, new RegExp(`kex: host key algorithm: ${esc(algorithm)}`));
      assert.match(r.stderr, new RegExp(`Server host certificate: \\S+ SHA256:\\S+, serial \\d+ ID "api\\.example\\.com" CA ssh-ed25519 ${esc(hostCaFp)}`));
      assert.match(r.stderr, /Host 'ssh\.example\.com' is known and matches the \S+-CERT host certificate/);
      await sshd.waitForLog(new RegExp(`Accepted publickey for ${esc(LOGIN)} .* ED25519-CERT SHA256:\\S+ ID alice `), mark);
    });
  }
});


test('critical options: sshd runs the force-command and enforces source-address', { skip }, async (t) => {
  requireOpenSsh();
  const { cwd, run } = initialisedCa('ed25519');
  const file = (name: string) => path.join(cwd, name);
  exportTo(run, ['auth', 'export', '--type=user'], file('user_ca.pub'));
  exportTo(run, ['auth', 'export', '--type=host'], file('known_hosts'));
  ok(run(['auth', 'sign', '--host=api.example.com', '--out=host']), 'sign host');
  ok(run(['auth', 'sign', '--user=ci', `--principals=${LOGIN}`, '--force-command=echo forced', '--source-address=10.0.0.0/8,127.0.0.1/32', '--out=ci']), 'sign ci');
  ok(run(['auth', 'sign', '--user=far', `--principals=${LOGIN}`, '--source-address=10.0.0.0/8', '--out=far']), 'sign far');
  const ci = listCertificate(file('ci-cert.pub'));
  assert.match(ci.text, /Critical Options: \n {16}force-command echo forced\n {16}source-address 10\.0\.0\.0\/8,127\.0\.0\.1\/32\n/);

  const sshd = await sshdFor(t, { dir: file('sshd'), hostKeys: [{ key: file('host'), certificate: file('host-cert.pub') }], trustedUserCaKeys: file('user_ca.pub') });
  const login = (key: string) => sshRun({ port: sshd.port, key: file(key), knownHosts: file('known_hosts'), hostKeyAlias: 'api.example.com', command: 'echo asked' });

  await t.test('the forced command replaces the one asked for, from an allowed address', () => {
    const r = login('ci');
    assert.equal(r.status, 0, `${r.stderr}\n--- sshd ---\n${sshd.log()}`);
    assert.equal(r.stdout, 'forced\n');
  });

  await t.test('a connection from outside source-address is refused', async () => {
    const mark = sshd.mark();
    const r = login('far');
    refused(r, 'source-address 10.0.0.0/8 from 127.0.0.1');
    await sshd.waitForLog(/with valid certificate but not from a permitted source address \(127\.0\.0\.1\)/, mark);
  });
});
