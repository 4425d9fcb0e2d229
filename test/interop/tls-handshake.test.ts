// TLS handshakes with the certificates src/x509 issues: openssl s_server/s_client (host name and
// IP checks, mTLS with client certificates, refusals) and node:tls with the same files.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { interopSkip } from '../helpers/sshd.js';
import { type SServer, sClient, sServer } from '../helpers/tls.js';
import { makeCa, makeLeaf, type TestCa, type TestLeaf } from '../unit/x509-helpers.js';

describe('TLS handshakes against openssl and node:tls', { skip: interopSkip() }, () => {
  let hostCa: TestCa;
  let userCa: TestCa;
  let otherCa: TestCa;
  let host: TestLeaf;
  let user: TestLeaf;
  let foreignUser: TestLeaf;
  let server: SServer;
  let mtls: SServer;

  before(async () => {
    hostCa = makeCa('ecdsa-p256');
    userCa = makeCa('ecdsa-p256');
    otherCa = makeCa('ecdsa-p256');
    host = makeLeaf(hostCa, 'tls-host', ['h.example.com', '127.0.0.1']);
    user = makeLeaf(userCa, 'tls-user', ['joe']);
    foreignUser = makeLeaf(otherCa, 'tls-user', ['joe'], { name: 'foreign' });
    server = await sServer(host.certFile, host.keyFile);
    mtls = await sServer(host.certFile, host.keyFile, ['-Verify', '1', '-verify_return_error', '-CAfile', userCa.file]);
  });
  after(async () => {
    await server?.stop();
    await mtls?.stop();
  });

  test('s_client verifies the host certificate by name and by IP SAN', () => {
    const byName = sClient(server.port, ['-CAfile', hostCa.file, '-servername', 'h.example.com', '-verify_hostname', 'h.example.com']);
    assert.ok(byName.ok && byName.status === 0, byName.out);
    assert.match(byName.out, /Verify return code: 0 \(ok\)/);
    const byIp = sClient(server.port, ['-CAfile', hostCa.file, '-verify_ip', '127.0.0.1']);
    assert.ok(byIp.ok, byIp.out);
  });

  test('s_client refuses a wrong host name, an IP not in the SANs, and another CA', () => {
    const wrongName = sClient(server.port, ['-CAfile', hostCa.file, '-verify_hostname', 'other.example.com']);
    assert.ok(!wrongName.ok && wrongName.status !== 0);
    assert.match(wrongName.out, /hostname mismatch/);
    assert.ok(!sClient(server.port, ['-CAfile', hostCa.file, '-verify_ip', '127.0.0.2']).ok);
    const foreign = sClient(server.port, ['-CAfile', otherCa.file, '-verify_hostname', 'h.example.com']);
    assert.ok(!foreign.ok && foreign.status !== 0);
    assert.match(foreign.out, /unable to get local issuer certificate|self-signed|unable to verify/);
  });

  test('mTLS: s_server -Verify accepts the user certificate and refuses another CA, a missing cert and a serverAuth-only cert', () => {
    const base = ['-CAfile', hostCa.file, '-verify_hostname', 'h.example.com'];
    const good = sClient(mtls.port, [...base, '-cert', user.certFile, '-key', user.keyFile]);
    assert.ok(good.ok, good.out);
    const foreign = sClient(mtls.port, [...base, '-cert', foreignUser.certFile, '-key', foreignUser.keyFile]);
    assert.ok(!foreign.ok);
    assert.match(foreign.out, /alert unknown ca/);
    const none = sClient(mtls.port, base);
    assert.ok(!none.ok);
    assert.match(none.out, /alert certificate required|handshake failure/);
    // A host certificate from the user CA: right issuer, wrong EKU for a client.
    const wrongUse = makeLeaf(userCa, 'tls-host', ['x.example.com'], { name: 'wrong-use' });
    const wrong = sClient(mtls.port, [...base, '-cert', wrongUse.certFile, '-key', wrongUse.keyFile]);
    assert.ok(!wrong.ok);
    assert.match(wrong.out, /alert unsupported certificate/);
  });

  test('node:tls server and client with the same files: mTLS succeeds; a foreign client and a wrong server name are refused', async () => {
    const srv = tls.createServer({
      cert: fs.readFileSync(host.certFile), key: fs.readFileSync(host.keyFile), ca: fs.readFileSync(userCa.file), requestCert: true,
      // Decided per connection so the test reads the verdict instead of racing a TLS 1.3 alert.
      rejectUnauthorized: false,
    }, (socket) => socket.end(socket.authorized ? `hello ${socket.getPeerCertificate().subject.CN}` : `refused: ${String(socket.authorizationError)}`));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    // Resolves with what the server said, or `error: <code>` when the client refuses the server.
    const connect = (leaf: TestLeaf, servername: string) => new Promise<string>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername, ca: fs.readFileSync(hostCa.file), cert: fs.readFileSync(leaf.certFile), key: fs.readFileSync(leaf.keyFile) });
      let data = '';
      socket.setEncoding('utf8').on('data', (d: string) => (data += d)).on('end', () => resolve(data))
        .on('error', (err: NodeJS.ErrnoException) => resolve(`error: ${err.code ?? err.message}`));
    });
    try {
      assert.equal(await connect(user, 'h.example.com'), 'hello joe');
      assert.equal(await connect(foreignUser, 'h.example.com'), 'refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE'); // same subject name, other key
      assert.match(await connect(user, 'nope.example.com'), /^error: ERR_TLS_CERT_ALTNAME_INVALID$/);
    } finally {
      srv.close();
    }
  });
});
