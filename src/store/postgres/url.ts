// libpq connection URIs (PostgreSQL docs, "Connection URIs" and "SSL Support"), parsed here
// rather than by node-postgres so that every parameter means what it means to psql or is
// refused, and so that no error ever echoes the URL (it may hold a password).
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import type { ConnectionOptions } from 'node:tls';
import { TctlError, UsageError } from '../../errors.js';
import { fileError, readFileCapped } from '../files.js';

/**
 * disable: no TLS. require: TLS, the server unchecked unless sslrootcert is given (then as
 * verify-ca, as libpq does). verify-ca: the chain must lead to sslrootcert. verify-full: that,
 * and the certificate must name the host (sslrootcert=system, or none, means Node's CA list).
 * allow and prefer are refused: they fall back between TLS and plaintext, which node-postgres
 * cannot do and which no attacker-facing connection should.
 */
export const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

const PARAMS = ['host', 'port', 'dbname', 'user', 'password', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'connect_timeout', 'application_name'] as const;
// Teleport's conn_string is read by pgx, whose pool settings ride in the URL: tctl holds one
// connection per command, so they are accepted and have nothing to set.
const IGNORED = /^pool_[a-z_]{1,40}$/;
const DEFAULT_CONNECT_TIMEOUT_S = 10;
const MAX_TLS_FILE_BYTES = 1024 * 1024;

export interface PostgresUrl {
  /** A directory (unix socket) when it starts with "/"; undefined: node-postgres's default (PGHOST, then localhost). */
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  sslmode: SslMode;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  /** 0 waits as long as the system does, as in libpq. */
  connectTimeoutSeconds: number;
  applicationName: string;
}

export function isPostgresUrl(text: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(text);
}

const bad = (why: string) => new UsageError(`invalid PostgreSQL URL: ${why}`, 'use postgresql://USER@HOST:PORT/DATABASE?sslmode=verify-full (libpq URI syntax)');

function decode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw bad(`${what} is not validly percent-encoded`);
  }
}

export function parsePostgresUrl(text: string): PostgresUrl {
  if (!isPostgresUrl(text)) throw bad('it must start with postgresql:// or postgres://');
  if (text.length > 4096) throw bad('longer than 4096 characters');
  if (/[\x00-\x20\x7f]/.test(text)) throw bad('it contains spaces or control characters');
  const rest = text.replace(/^postgres(?:ql)?:\/\//i, '');
  const qAt = rest.indexOf('?');
  const beforeQuery = qAt < 0 ? rest : rest.slice(0, qAt);
  const query = qAt < 0 ? '' : rest.slice(qAt + 1);
  if (beforeQuery.includes('#') || query.includes('#')) throw bad('it has a "#" fragment');
  const slash = beforeQuery.indexOf('/');
  const authority = slash < 0 ? beforeQuery : beforeQuery.slice(0, slash);
  const dbPart = slash < 0 ? '' : beforeQuery.slice(slash + 1);
  const at = authority.lastIndexOf('@');
  const userinfo = at < 0 ? undefined : authority.slice(0, at);
  const hostport = at < 0 ? authority : authority.slice(at + 1);
  if (hostport.includes(',')) throw bad('several hosts are not supported; give one');

  const out: PostgresUrl = { sslmode: 'disable', connectTimeoutSeconds: DEFAULT_CONNECT_TIMEOUT_S, applicationName: `tctl ${process.pid}@${hostname()}`.slice(0, 63) };
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const user = decode(colon < 0 ? userinfo : userinfo.slice(0, colon), 'the user');
    if (user !== '') out.user = user;
    if (colon >= 0) out.password = decode(userinfo.slice(colon + 1), 'the password');
  }
  const hp = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]*)(?::(\d*))?$/.exec(hostport);
  if (!hp) throw bad('the host or port is malformed');
  const host = decode(hp[1]!.replace(/^\[(.*)\]$/, '$1'), 'the host');
  if (host !== '') out.host = host;
  if (hp[2]) out.port = port(hp[2]);
  if (dbPart !== '') out.database = decode(dbPart, 'the database name');

  let sslmode: string | undefined;
  const seen = new Set<string>();
  for (const pair of query === '' ? [] : query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decode(eq < 0 ? pair : pair.slice(0, eq), 'a parameter name');
    const value = decode(eq < 0 ? '' : pair.slice(eq + 1), `parameter ${key}`);
    if (IGNORED.test(key)) continue;
    if (!(PARAMS as readonly string[]).includes(key)) throw bad(`unknown parameter "${key}" (supported: ${PARAMS.join(', ')})`);
    if (seen.has(key)) throw bad(`parameter "${key}" is given twice`);
    seen.add(key);
    if (value === '') throw bad(`parameter "${key}" is empty`);
    switch (key as (typeof PARAMS)[number]) {
      case 'host':
        if (value.includes(',')) throw bad('several hosts are not supported; give one');
        out.host = value;
        break;
      case 'port':
        out.port = port(value);
        break;
      case 'dbname':
        out.database = value;
        break;
      case 'user':
        out.user = value;
        break;
      case 'password':
        out.password = value;
        break;
      case 'sslmode':
        sslmode = value;
        break;
      case 'sslrootcert':
        out.sslrootcert = value;
        break;
      case 'sslcert':
        out.sslcert = value;
        break;
      case 'sslkey':
        out.sslkey = value;
        break;
      case 'connect_timeout':
        if (!/^\d{1,4}$/.test(value) || Number(value) > 3600) throw bad('connect_timeout must be whole seconds from 0 to 3600');
        out.connectTimeoutSeconds = Number(value);
        break;
      case 'application_name':
        if (!/^[\x20-\x7e]{1,63}$/.test(value)) throw bad('application_name must be 1 to 63 printable ASCII characters');
        out.applicationName = value;
        break;
    }
  }
  if (sslmode === 'allow' || sslmode === 'prefer') {
    throw bad(`sslmode=${sslmode} is not supported: it falls back to plaintext (use verify-full, verify-ca, require or disable)`);
  }
  if (sslmode !== undefined && !(SSL_MODES as readonly string[]).includes(sslmode)) throw bad(`unknown sslmode "${sslmode}" (supported: ${SSL_MODES.join(', ')})`);
  const tlsFiles = out.sslrootcert !== undefined || out.sslcert !== undefined || out.sslkey !== undefined;
  // libpq would quietly try TLS and fall back; here TLS is asked for by name.
  if (sslmode === undefined && tlsFiles) throw bad('sslrootcert, sslcert and sslkey need an sslmode (verify-full, verify-ca or require)');
  out.sslmode = (sslmode as SslMode | undefined) ?? 'disable';
  if (out.sslmode === 'disable' && tlsFiles) throw bad('sslmode=disable with TLS files: say which you mean');
  if ((out.sslcert === undefined) !== (out.sslkey === undefined)) throw bad('sslcert and sslkey go together');
  if (out.sslmode === 'verify-ca' && (out.sslrootcert === undefined || out.sslrootcert === 'system')) {
    throw bad('sslmode=verify-ca needs sslrootcert=FILE (a public CA would let anyone it certifies pose as the server)');
  }
  return out;
}

function port(text: string): number {
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n < 1 || n > 65535) throw bad('the port must be 1 to 65535');
  return n;
}

/** The TLS options for node-postgres: false for no TLS (or a unix socket, where libpq never uses TLS). */
export function tlsOptions(u: PostgresUrl): false | ConnectionOptions {
  if (u.sslmode === 'disable' || u.host?.startsWith('/')) return false;
  const read = (name: string, file: string) => {
    try {
      return readFileCapped(file, MAX_TLS_FILE_BYTES, { name: `${name} ${file}` }).toString('utf8');
    } catch (err) {
      throw fileError(`cannot read ${name}`, file, err);
    }
  };
  const opts: ConnectionOptions = {};
  const rootcert = u.sslrootcert !== undefined && u.sslrootcert !== 'system' ? read('sslrootcert', u.sslrootcert) : undefined;
  if (rootcert !== undefined) opts.ca = rootcert;
  if (u.sslcert !== undefined) opts.cert = read('sslcert', u.sslcert);
  if (u.sslkey !== undefined) {
    opts.key = read('sslkey', u.sslkey);
    // libpq refuses a key others can read; so do we, with its reason.
    const st = fs.statSync(u.sslkey, { throwIfNoEntry: false });
    if (st && (st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) {
      throw new TctlError(`sslkey ${u.sslkey} is readable by group or others`, { hint: `chmod 600 ${u.sslkey}` });
    }
  }
  if (u.sslmode === 'require' && rootcert === undefined) opts.rejectUnauthorized = false;
  else opts.rejectUnauthorized = true;
  // verify-ca (and require with a root cert, as libpq): the chain is checked, the name is not.
  if (u.sslmode === 'verify-ca' || (u.sslmode === 'require' && rootcert !== undefined)) opts.checkServerIdentity = () => undefined;
  return opts;
}

/** How a URL is shown: scheme, user, host, port, database; never the password. */
export function displayUrl(p: { user?: string; host?: string; port?: number; database?: string; sslmode?: SslMode }): string {
  const user = p.user ? `${encodeURIComponent(p.user)}@` : '';
  const socket = p.host?.startsWith('/');
  const host = socket || !p.host ? '' : p.host.includes(':') ? `[${p.host}]` : p.host;
  const params = [
    ...(socket ? [`host=${p.host}`, ...(p.port ? [`port=${p.port}`] : [])] : []),
    ...(p.sslmode && p.sslmode !== 'disable' && !socket ? [`sslmode=${p.sslmode}`] : []),
  ];
  return `postgresql://${user}${host}${p.port && !socket ? `:${p.port}` : ''}/${encodeURIComponent(p.database ?? '')}${params.length ? `?${params.join('&')}` : ''}`;
}
