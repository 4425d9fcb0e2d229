// A real PostgreSQL with `ssl = on`, a server certificate from the db CA and client certificate
// authentication against the db_client CA: psql with sslmode=verify-full logs in as the role the
// certificate's CN names, and is refused with another CA, another CN, or a revoked serial.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as fs from 'node:fs';
import { createCrl, type RevokedCertificate } from '../../src/x509/index.js';
import { type Postgres, postgresSkip, startPostgres } from '../helpers/postgres.js';
import { makeCa, makeLeaf, type TestCa, type TestLeaf } from '../unit/x509-helpers.js';

describe('PostgreSQL with certificates from the db and db_client CAs', { skip: postgresSkip() }, () => {
  let pg: Postgres;
  let dbCa: TestCa;
  let clientCa: TestCa;
  let otherCa: TestCa;

  const crlPem = (revoked: RevokedCertificate[], n: bigint) => {
    const now = Date.now();
    return createCrl({ thisUpdate: new Date(now - 60_000), nextUpdate: new Date(now + 86400e3), number: n, revoked }, clientCa.issuer).pem;
  };

  const login = (user: string, leaf: TestLeaf, rootCert = dbCa.file) =>
    pg.psql(
      `host=localhost hostaddr=127.0.0.1 port=${pg.port} dbname=postgres user=${user} sslmode=verify-full ` +
        `sslrootcert=${rootCert} sslcert=${leaf.certFile} sslkey=${leaf.keyFile}`,
      'SELECT current_user',
    );

  before(async () => {
    dbCa = makeCa('rsa-2048');
    clientCa = makeCa('rsa-2048');
    otherCa = makeCa('rsa-2048');
    const server = makeLeaf(dbCa, 'db-server', ['localhost', '127.0.0.1'], { name: 'server' });
    pg = await startPostgres({
      files: {
        'server.crt': fs.readFileSync(server.certFile),
        'server.key': fs.readFileSync(server.keyFile),
        'client-ca.crt': clientCa.cert.pem,
        'clients.crl': crlPem([], 1n),
      },
      config: ['ssl = on', "ssl_cert_file = '../server.crt'", "ssl_key_file = '../server.key'", "ssl_ca_file = '../client-ca.crt'", "ssl_crl_file = '../clients.crl'"],
      hba: 'local all all trust\nhostssl all all 127.0.0.1/32 cert\n',
    });
    pg.sql('CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN');
  });
  after(async () => {
    await pg?.stop();
  });

  test('psql sslmode=verify-full logs in as the role named by the db_client certificate CN', async () => {
    const mark = pg.log().length;
    const r = login('alice', makeLeaf(clientCa, 'db-client', ['alice'], { name: 'alice' }));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'alice');
    await pg.waitForLog(/connection authenticated: identity="CN=alice" method=cert/, mark);
  });

  test('refused: a client certificate from another CA, a CN naming another role, a server checked against the wrong CA', () => {
    const foreign = login('alice', makeLeaf(otherCa, 'db-client', ['alice'], { name: 'foreign' }));
    assert.notEqual(foreign.status, 0);
    assert.match(foreign.stderr, /certificate verify failed|unknown ca|alert/i);
    const wrongCn = login('alice', makeLeaf(clientCa, 'db-client', ['bob'], { name: 'bob' }));
    assert.notEqual(wrongCn.status, 0);
    assert.match(wrongCn.stderr, /certificate authentication failed for user "alice"/);
    // The client side of verify-full: the server's cert does not chain to the db_client CA.
    const wrongRoot = login('alice', makeLeaf(clientCa, 'db-client', ['alice'], { name: 'alice2' }), clientCa.file);
    assert.notEqual(wrongRoot.status, 0);
    assert.match(wrongRoot.stderr, /certificate verify failed/);
  });

  test('a serial listed in the CRL given as ssl_crl_file is refused after a reload; other certificates keep working', async () => {
    const revoked = makeLeaf(clientCa, 'db-client', ['alice'], { name: 'alice-revoked' });
    const kept = makeLeaf(clientCa, 'db-client', ['alice'], { name: 'alice-kept' });
    assert.equal(login('alice', revoked).status, 0);
    pg.writeFile('clients.crl', crlPem([{ serial: revoked.cert.serial, revokedAt: new Date() }], 2n));
    await pg.reload();
    const mark = pg.log().length;
    const r = login('alice', revoked);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /alert certificate revoked/);
    // PostgreSQL logs only the generic verify failure; the client got the revoked alert.
    assert.match(await pg.waitForLog(/could not accept SSL connection/, mark), /certificate verify failed/);
    assert.equal(login('alice', kept).stdout.trim(), 'alice');
  });
});
