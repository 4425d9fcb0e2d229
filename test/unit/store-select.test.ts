// Which store a command opens (flags, environment, teleport.yaml, default) and what a
// PostgreSQL URL means: libpq URI syntax, sslmode mapped to TLS options, nothing echoed.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { TctlError, UsageError } from '../../src/errors.js';
import { displayUrl, parsePostgresUrl, tlsOptions } from '../../src/store/postgres/url.js';
import { configStorage, parseLocation, selectStore } from '../../src/store/select.js';
import type { StoreInputs } from '../../src/store/select.js';
import { tempDir } from '../helpers/run.js';

const URL_A = 'postgresql://a@db1/tctl';
const URL_B = 'postgres://b@db2/tctl';
const inputs = (o: Partial<{ flags: StoreInputs['flags']; env: StoreInputs['env']; config: StoreInputs['config'] }>): StoreInputs => ({
  flags: o.flags ?? {},
  env: o.env ?? {},
  config: o.config ?? {},
  defaultDataDir: '/home/u/.local/share/tctl',
});

test('selection: flags beat the environment beat teleport.yaml beat the default; a URL beats a data dir at the same level', () => {
  const pgConf = { storage: { type: 'postgresql', connString: URL_B }, dataDir: '/conf' };
  const cases: Array<[Parameters<typeof inputs>[0], string, string]> = [
    [{}, 'default', '/home/u/.local/share/tctl'],
    [{ config: { dataDir: '/conf' } }, 'teleport.data_dir', '/conf'],
    [{ config: pgConf }, 'teleport.storage', URL_B],
    [{ config: { storage: { type: 'dir' }, dataDir: '/conf' } }, 'teleport.data_dir', '/conf'],
    [{ config: { storage: { type: 'sqlite' } } }, 'default', '/home/u/.local/share/tctl'],
    [{ env: { TCTL_DATA_DIR: '/env' }, config: pgConf }, 'TCTL_DATA_DIR', '/env'],
    [{ env: { TCTL_DATA_DIR: '/env', TCTL_BACKEND: URL_A }, config: pgConf }, 'TCTL_BACKEND', URL_A],
    [{ env: { TCTL_BACKEND: '' }, config: pgConf }, 'teleport.storage', URL_B],
    [{ flags: { dataDir: '/flag' }, env: { TCTL_BACKEND: URL_A } }, '--data-dir', '/flag'],
    [{ flags: { backend: URL_B }, env: { TCTL_BACKEND: URL_A, TCTL_DATA_DIR: '/env' }, config: pgConf }, '--backend', URL_B],
  ];
  for (const [given, source, where] of cases) {
    const s = selectStore(inputs(given));
    assert.equal(s.source, source, JSON.stringify(given));
    assert.equal(s.kind === 'dir' ? s.dataDir : s.url, where);
  }
});

test('selection refuses what it cannot honour, without echoing the value', () => {
  const refused: Array<[Parameters<typeof inputs>[0], RegExp, boolean]> = [
    [{ flags: { backend: URL_A, dataDir: '/x' } }, /--backend and --data-dir name two places/, true],
    [{ flags: { backend: '' } }, /--backend is empty/, true],
    [{ flags: { backend: 'etcd://u:S3cret@h' } }, /--backend must be a postgresql:\/\/ or postgres:\/\/ URL, not etcd:$/, true],
    [{ env: { TCTL_BACKEND: '/some/dir' } }, /TCTL_BACKEND must be a postgresql/, true],
    [{ config: { storage: { type: 'dynamodb' }, file: 't.yaml' } }, /config t\.yaml: teleport\.storage\.type "dynamodb" is not supported/, false],
    [{ config: { storage: { type: 'postgresql' } } }, /conn_string is missing/, false],
  ];
  for (const [given, re, usage] of refused) {
    assert.throws(() => selectStore(inputs(given)), (err: unknown) => err instanceof TctlError && (err instanceof UsageError) === usage && re.test(err.message) && !err.message.includes('S3cret'));
  }
  assert.deepEqual(configStorage({ type: 'postgresql', conn_string: URL_A, ignored: 1 }, 'f'), { type: 'postgresql', connString: URL_A });
  assert.equal(configStorage(undefined, 'f'), undefined);
  assert.throws(() => configStorage('postgresql', 'f'), /must be a mapping/);
  assert.throws(() => configStorage({ type: 'postgresql', conn_string: 5 }, 'f'), /conn_string must be a non-empty string/);
  assert.equal(parseLocation('--to', 'backup/ca').kind, 'dir');
  assert.equal(parseLocation('--to', URL_A).kind, 'postgresql');
  assert.throws(() => parseLocation('--to', 'mysql://x'), /--to must be a postgresql/);
});

test('libpq URIs: user, password, host, port, database, socket dirs and parameters', () => {
  const p = parsePostgresUrl('postgresql://ca%40corp:p%40ss%3Aw0rd@db.example.com:6432/tc%2Dtl?sslmode=verify-full&connect_timeout=5&application_name=x&pool_max_conns=20');
  assert.deepEqual(
    { ...p, applicationName: p.applicationName },
    { user: 'ca@corp', password: 'p@ss:w0rd', host: 'db.example.com', port: 6432, database: 'tc-tl', sslmode: 'verify-full', connectTimeoutSeconds: 5, applicationName: 'x' },
  );
  const s = parsePostgresUrl('postgres:///tctl?host=/var/run/postgresql&port=5433&user=ca');
  assert.equal(s.host, '/var/run/postgresql');
  assert.equal(s.port, 5433);
  assert.equal(parsePostgresUrl('postgresql://%2Ftmp%2Fpg/db').host, '/tmp/pg');
  assert.equal(parsePostgresUrl('postgresql://[::1]:5432/db').host, '::1');
  assert.equal(parsePostgresUrl('postgresql://h/db').sslmode, 'disable');
  assert.equal(displayUrl({ ...p, sslmode: 'verify-full' }), 'postgresql://ca%40corp@db.example.com:6432/tc-tl?sslmode=verify-full');
  assert.equal(displayUrl({ ...s }), 'postgresql://ca@/tctl?host=/var/run/postgresql&port=5433');
});

test('libpq URIs that are refused say why, and never repeat the password', () => {
  const bad: Array<[string, RegExp]> = [
    ['mysql://h/db', /must start with postgresql/],
    ['postgresql://u:S3cret@h1,h2/db', /several hosts/],
    ['postgresql://u:S3cret@h:0/db', /port must be 1 to 65535/],
    ['postgresql://u:S3cret@h:70000/db', /port must be 1 to 65535/],
    ['postgresql://u:S3cret@h/db?sslmode=prefer', /sslmode=prefer is not supported/],
    ['postgresql://u:S3cret@h/db?sslmode=allow', /sslmode=allow is not supported/],
    ['postgresql://u:S3cret@h/db?sslmode=bogus', /unknown sslmode "bogus"/],
    ['postgresql://u:S3cret@h/db?sslrootcert=/x', /need an sslmode/],
    ['postgresql://u:S3cret@h/db?sslmode=verify-ca', /verify-ca needs sslrootcert/],
    ['postgresql://u:S3cret@h/db?sslmode=require&sslcert=/a', /sslcert and sslkey go together/],
    ['postgresql://u:S3cret@h/db?sslmode=disable&sslrootcert=/a', /sslmode=disable with TLS files/],
    ['postgresql://u:S3cret@h/db?options=-c%20x', /unknown parameter "options"/],
    ['postgresql://u:S3cret@h/db?port=1&port=2', /given twice/],
    ['postgresql://u:S3cret@h/db?connect_timeout=99999', /connect_timeout/],
    ['postgresql://u:S3cret@h/db?sslmode=', /is empty/],
    ['postgresql://u:S3%ZZcret@h/db', /password is not validly percent-encoded/],
    ['postgresql://u:S3cret@h/db#frag', /fragment/],
    ['postgresql://u:S3cret @h/db', /spaces or control characters/],
  ];
  for (const [url, re] of bad) {
    assert.throws(() => parsePostgresUrl(url), (err: unknown) => err instanceof UsageError && re.test(err.message) && !err.message.includes('S3') && !(err.hint ?? '').includes('S3'), url);
  }
});

test('sslmode maps to TLS options as libpq means it', () => {
  const dir = tempDir();
  const ca = path.join(dir, 'root.crt');
  fs.writeFileSync(ca, 'ROOT');
  const key = path.join(dir, 'client.key');
  fs.writeFileSync(key, 'KEY', { mode: 0o600 });
  const cert = path.join(dir, 'client.crt');
  fs.writeFileSync(cert, 'CERT');
  const tls = (q: string) => tlsOptions(parsePostgresUrl(`postgresql://h/db?${q}`));
  assert.equal(tls('sslmode=disable'), false);
  assert.equal(tlsOptions(parsePostgresUrl(`postgresql:///db?host=/run/pg&sslmode=verify-full`)), false, 'libpq never uses TLS on a unix socket');
  assert.deepEqual(tls('sslmode=require'), { rejectUnauthorized: false });
  const requireCa = tls(`sslmode=require&sslrootcert=${ca}`) as Record<string, unknown>;
  assert.equal(requireCa.rejectUnauthorized, true);
  assert.equal(requireCa.ca, 'ROOT');
  assert.equal(typeof requireCa.checkServerIdentity, 'function', 'require + root cert = verify-ca');
  const vca = tls(`sslmode=verify-ca&sslrootcert=${ca}`) as Record<string, unknown>;
  assert.equal(vca.rejectUnauthorized, true);
  assert.equal(typeof vca.checkServerIdentity, 'function');
  const vfull = tls(`sslmode=verify-full&sslrootcert=${ca}&sslcert=${cert}&sslkey=${key}`) as Record<string, unknown>;
  assert.deepEqual(vfull, { ca: 'ROOT', cert: 'CERT', key: 'KEY', rejectUnauthorized: true });
  assert.deepEqual(tls('sslmode=verify-full&sslrootcert=system'), { rejectUnauthorized: true });
  assert.throws(() => tls(`sslmode=verify-full&sslrootcert=${path.join(dir, 'missing.crt')}`), /cannot read sslrootcert .*missing\.crt: no such file/);
});
