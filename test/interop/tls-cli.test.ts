// Certificates made by the tctl command line, used as a user would: openssl s_server/s_client
// mTLS with --format=tls host and user certificates and their .cas files, node:tls with the same
// files, and X509Certificate.verify() on every certificate against the CA that signed it.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { initialisedCa } from '../helpers/run.js';
import { interopSkip } from '../helpers/sshd.js';
import { type SServer, sClient, sServer } from '../helpers/tls.js';

describe('tctl --format=tls certificates against openssl and node:tls', { skip: interopSkip() }, () => {
  const ca = initialisedCa();
  const other = initialisedCa();
  const f = (name: string) => path.join(ca.cwd, name);
  let mtls: SServer;

  before(async () => {
    const sign = (run: typeof ca.run, args: string[]) => {
      const r = run(['auth', 'sign', ...args]);
      assert.equal(r.status, 0, r.stderr);
    };
    sign(ca.run, ['--format=tls', '--host=h.example.com,127.0.0.1', '--out=host']);
    sign(ca.run, ['--format=tls', '--user=joe', '--out=joe']);
    // Same cluster name, same CN, another data dir: only the key tells them apart.
    sign(other.run, ['--format=tls', '--user=joe', `--out=${f('foreign')}`]);
    // A client certificate from the same data dir's db_client CA: a CA the server does not trust.
    sign(ca.run, ['--format=db', '--user=joe', '--out=dbjoe']);
    mtls = await sServer(f('host.crt'), f('host.key'), ['-Verify', '1', '-verify_return_error', '-CAfile', f('host.cas')]);
  });
  after(async () => {
    await mtls?.stop();
  });

  test('mTLS: the host certificate verifies by name and IP against joe.cas; joe\'s certificate is accepted by a server trusting host.cas', () => {
    const byName = sClient(mtls.port, ['-CAfile', f('joe.cas'), '-servername', 'h.example.com', '-verify_hostname', 'h.example.com', '-cert', f('joe.crt'), '-key', f('joe.key')]);
    assert.ok(byName.ok && byName.status === 0, byName.out);
    assert.match(byName.out, /Verify return code: 0 \(ok\)/);
    const byIp = sClient(mtls.port, ['-CAfile', f('joe.cas'), '-verify_ip', '127.0.0.1', '-cert', f('joe.crt'), '-key', f('joe.key')]);
    assert.ok(byIp.ok, byIp.out);
  });

  test('refused: a wrong host name, the server checked against another CA, a client certificate of another data dir or of the db_client CA', () => {
    const base = ['-cert', f('joe.crt'), '-key', f('joe.key')];
    const wrongName = sClient(mtls.port, ['-CAfile', f('joe.cas'), '-verify_hostname', 'other.example.com', ...base]);
    assert.ok(!wrongName.ok);
    assert.match(wrongName.out, /hostname mismatch/);
    const wrongRoot = sClient(mtls.port, ['-CAfile', f('dbjoe.cas'), '-verify_hostname', 'h.example.com', ...base]);
    assert.ok(!wrongRoot.ok);
    assert.match(wrongRoot.out, /unable to get local issuer certificate|unable to verify|bad signature|certificate signature failure/);
    const server = ['-CAfile', f('joe.cas'), '-verify_hostname', 'h.example.com'];
    const foreign = sClient(mtls.port, [...server, '-cert', f('foreign.crt'), '-key', f('foreign.key')]);
    assert.ok(!foreign.ok);
    assert.match(foreign.out, /alert (unknown ca|decrypt error|bad certificate)/);
    const db = sClient(mtls.port, [...server, '-cert', f('dbjoe.crt'), '-key', f('dbjoe.key')]);
    assert.ok(!db.ok);
    assert.match(db.out, /alert unknown ca/);
  });

  test('node:tls server and client with the files tctl wrote', async () => {
    const read = (n: string) => fs.readFileSync(f(n));
    const srv = tls.createServer({ cert: read('host.crt'), key: read('host.key'), ca: read('host.cas'), requestCert: true, rejectUnauthorized: false },
      (socket) => socket.end(socket.authorized ? `hello ${socket.getPeerCertificate().subject.CN}` : `refused: ${String(socket.authorizationError)}`));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    const connect = (cert: string, servername: string) => new Promise<string>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername, ca: read('joe.cas'), cert: read(`${cert}.crt`), key: read(`${cert}.key`) });
      let data = '';
      socket.setEncoding('utf8').on('data', (d: string) => (data += d)).on('end', () => resolve(data))
        .on('error', (err: NodeJS.ErrnoException) => resolve(`error: ${err.code ?? err.message}`));
    });
    try {
      assert.equal(await connect('joe', 'h.example.com'), 'hello joe');
      assert.match(await connect('dbjoe', 'h.example.com'), /^refused: (UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE)/);
      assert.match(await connect('joe', 'nope.example.com'), /^error: ERR_TLS_CERT_ALTNAME_INVALID$/);
    } finally {
      srv.close();
    }
  });

  test('X509Certificate.verify(): every certificate tctl wrote verifies against its CA and no other', () => {
    const cas = Object.fromEntries(['tls-host', 'tls-user', 'db', 'db-client'].map((t) => [t, new X509Certificate(ca.run(['auth', 'export', `--type=${t}`]).stdout)]));
    const expected: Record<string, string> = { 'host.crt': 'tls-host', 'joe.crt': 'tls-user', 'dbjoe.crt': 'db-client' };
    for (const [file, issuer] of Object.entries(expected)) {
      const cert = new X509Certificate(fs.readFileSync(f(file)));
      for (const [t, caCert] of Object.entries(cas)) assert.equal(cert.verify(caCert.publicKey), t === issuer, `${file} against ${t}`);
      assert.ok(cert.checkIssued(cas[issuer]!));
    }
    for (const caCert of Object.values(cas)) assert.ok(caCert.verify(caCert.publicKey) && caCert.ca);
  });
});
