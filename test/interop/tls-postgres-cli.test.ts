// The README's PostgreSQL recipe, end to end with the tctl command line: a server certificate from
// --format=db, ssl_ca_file from "auth export --type=db-client", ssl_crl_file from "auth crl", and
// psql sslmode=verify-full logging in with --format=db --user certificates. Refusals by CA, CN and
// CRL, and logins that keep working through every rotation phase of the db and db_client CAs.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Postgres, postgresSkip, startPostgres } from '../helpers/postgres.js';
import { initialisedCa } from '../helpers/run.js';

describe('PostgreSQL with files written by tctl', { skip: postgresSkip() }, () => {
  const ca = initialisedCa();
  const other = initialisedCa();
  const f = (name: string) => path.join(ca.cwd, name);
  let pg: Postgres;

  const ok = (r: { status: number; stderr: string }, what: string) => assert.equal(r.status, 0, `${what}: ${r.stderr}`);
  const tctl = (...args: string[]) => {
    const r = ca.run(args);
    ok(r, args.join(' '));
    return r;
  };
  const signClient = (user: string, out = user) => tctl('auth', 'sign', '--format=db', `--user=${user}`, `--out=${out}`, '--overwrite');
  const login = (user: string, cert: string, rootCert = f('db-ca.crt')) =>
    pg.psql(
      `host=localhost hostaddr=127.0.0.1 port=${pg.port} dbname=postgres user=${user} sslmode=verify-full ` +
        `sslrootcert=${rootCert} sslcert=${cert}.crt sslkey=${cert}.key`,
      'SELECT current_user',
    );
  const loginOk = (user: string, cert: string, what: string) => {
    const r = login(user, cert);
    assert.equal(r.status, 0, `${what}: ${r.stderr}`);
    assert.equal(r.stdout.trim(), user, what);
  };
  /** What an operator does after each rotation step: re-export the CA bundles and the CRLs, reload PostgreSQL. */
  const redeploy = async () => {
    tctl('auth', 'export', '--type=db', '-o', f('db-ca.crt'));
    pg.writeFile('client-ca.crt', tctl('auth', 'export', '--type=db-client').stdout);
    pg.writeFile('clients.crl', tctl('auth', 'crl', '--type=db-client', '--format=pem').stdout);
    await pg.reload();
  };
  const serverCert = () => tctl('auth', 'sign', '--format=db', '--host=localhost,127.0.0.1', `--out=${f('server')}`, '--overwrite');

  before(async () => {
    serverCert();
    tctl('auth', 'export', '--type=db', '-o', f('db-ca.crt'));
    pg = await startPostgres({
      files: {
        'server.crt': fs.readFileSync(f('server.crt')),
        'server.key': fs.readFileSync(f('server.key')),
        'client-ca.crt': tctl('auth', 'export', '--type=db-client').stdout,
        'clients.crl': tctl('auth', 'crl', '--type=db-client', '--format=pem').stdout,
      },
      config: ['ssl = on', "ssl_cert_file = '../server.crt'", "ssl_key_file = '../server.key'", "ssl_ca_file = '../client-ca.crt'", "ssl_crl_file = '../clients.crl'"],
      hba: 'local all all trust\nhostssl all all 127.0.0.1/32 cert\n',
    });
    pg.sql('CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN');
    for (const u of ['alice', 'bob']) signClient(u);
  });
  after(async () => {
    await pg?.stop();
  });

  test('psql sslmode=verify-full logs in with a --format=db --user certificate, as the role its CN names', async () => {
    const mark = pg.log().length;
    loginOk('alice', f('alice'), 'alice');
    await pg.waitForLog(/connection authenticated: identity="CN=alice" method=cert/, mark);
  });

  test('refused: another data dir\'s db_client CA, the TLS user CA, a CN naming another role, a server checked against the db_client CA', () => {
    assert.equal(other.run(['auth', 'sign', '--format=db', '--user=alice', `--out=${f('foreign')}`]).status, 0);
    const foreign = login('alice', f('foreign'));
    assert.notEqual(foreign.status, 0);
    assert.match(foreign.stderr, /certificate verify failed|unknown ca|alert/i);
    tctl('auth', 'sign', '--format=tls', '--user=alice', `--out=${f('tlsalice')}`);
    const userCa = login('alice', f('tlsalice'));
    assert.notEqual(userCa.status, 0);
    assert.match(userCa.stderr, /unknown ca|certificate verify failed/i);
    const wrongCn = login('alice', f('bob'));
    assert.notEqual(wrongCn.status, 0);
    assert.match(wrongCn.stderr, /certificate authentication failed for user "alice"/);
    const wrongRoot = login('alice', f('alice'), f('server.cas'));
    assert.notEqual(wrongRoot.status, 0);
    assert.match(wrongRoot.stderr, /certificate verify failed/);
  });

  test('auth revoke --serial then auth crl --format=pem as ssl_crl_file: that certificate is refused after a reload, others keep working', async () => {
    signClient('alice', 'alice-revoked');
    loginOk('alice', f('alice-revoked'), 'before revocation');
    const serial = JSON.parse(tctl('auth', 'ls', '--json', '--type=db-client').stdout).at(-1).serial as string;
    tctl('auth', 'revoke', `--serial=${serial}`, '--reason=laptop lost');
    await redeploy();
    const r = login('alice', f('alice-revoked'));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /alert certificate revoked/);
    loginOk('alice', f('alice'), 'another certificate for the same role');
  });

  test('logins keep working through every phase of a db_client rotation, then of a db rotation', async () => {
    // db_client: the client certificates' CA. Old certificates work until standby drops their key.
    signClient('alice', 'alice-old');
    for (const phase of ['init', 'update_clients', 'update_servers']) {
      tctl('auth', 'rotate', '--type=db-client', '--manual', `--phase=${phase}`);
      await redeploy();
      loginOk('alice', f('alice-old'), `db_client ${phase}: old certificate`);
      signClient('alice', `alice-${phase}`);
      loginOk('alice', f(`alice-${phase}`), `db_client ${phase}: certificate issued in this phase`);
    }
    tctl('auth', 'rotate', '--type=db-client', '--manual', '--phase=standby', '--yes');
    await redeploy();
    loginOk('alice', f('alice-update_clients'), 'db_client standby: certificate from the new key');
    const dropped = login('alice', f('alice-old'));
    assert.notEqual(dropped.status, 0, 'db_client standby: the old key is no longer trusted');

    // db: the server certificate's CA. Clients trust both during the rotation, so the server can switch any time.
    for (const phase of ['init', 'update_clients', 'update_servers']) {
      tctl('auth', 'rotate', '--type=db', '--manual', `--phase=${phase}`);
      if (phase === 'update_clients') {
        serverCert();
        pg.writeFile('server.crt', fs.readFileSync(f('server.crt')));
        pg.writeFile('server.key', fs.readFileSync(f('server.key')));
      }
      await redeploy();
      loginOk('alice', f('alice-update_clients'), `db ${phase}`);
    }
    tctl('auth', 'rotate', '--type=db', '--manual', '--phase=standby', '--yes');
    await redeploy();
    assert.equal(fs.readFileSync(f('db-ca.crt'), 'utf8').match(/BEGIN CERTIFICATE/g)?.length, 1);
    loginOk('alice', f('alice-update_clients'), 'db standby');
  });
});
