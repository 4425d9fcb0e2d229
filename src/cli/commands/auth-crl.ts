// `tctl auth crl`: the certificate revocation list of a TLS CA, DER on stdout like Teleport's,
// PEM for PostgreSQL's ssl_crl_file and nginx's ssl_crl (both take several CRLs in one file).
import { parseDuration } from '../../ca/duration.js';
import { TctlError, UsageError, checkTlsPin, oneOf } from '../../errors.js';
import { writeFileAtomic } from '../../store/files.js';
import type { TlsCa } from '../../x509/types.js';
import type { GlobalOptions } from '../context.js';
import { resolveContext } from '../context.js';
import { isTerminal, stdout, stdoutBytes } from '../output.js';

export const CRL_TYPES = ['host', 'user', 'db', 'db_client', 'db-client'] as const;

export interface CrlOptions extends GlobalOptions {
  type?: string;
  format?: string;
  out?: string;
  ttl?: string;
  fingerprint?: string;
}

/** A CRL past its nextUpdate fails every client, so its life is capped like a CA's. */
const MAX_CRL_TTL = { seconds: 87600 * 3600, text: '87600h (10 years)' };

export async function authCrl(opts: CrlOptions): Promise<void> {
  if (opts.type === undefined) throw new UsageError('--type must be specified', 'e.g. tctl auth crl --type=db-client --format=pem -o db-client.crl');
  const t = oneOf('--type', opts.type, CRL_TYPES);
  const ca: TlsCa = t === 'db-client' ? 'db_client' : t;
  const format = oneOf('--format', opts.format ?? 'der', ['der', 'pem'] as const);
  if (opts.out === '') throw new UsageError('--out is empty');
  if (opts.fingerprint !== undefined) checkTlsPin(opts.fingerprint);
  const { DEFAULT_CRL_TTL_SECONDS, buildCrls } = await import('../../ca/tls-crl.js');
  const ttlSeconds = opts.ttl === undefined ? DEFAULT_CRL_TTL_SECONDS : parseDuration('--ttl', opts.ttl, MAX_CRL_TTL);
  if (format === 'der' && opts.out === undefined && isTerminal(1)) {
    throw new UsageError('refusing to write a binary CRL to a terminal', `use -o FILE, redirect, or --format=pem: tctl auth crl --type=${t} > ${t}.crl`);
  }
  const { store } = await resolveContext(opts);
  const crls = buildCrls(store, ca, { ttlSeconds, fingerprint: opts.fingerprint });
  let data: string | Buffer;
  if (format === 'der') {
    if (crls.length > 1) {
      throw new TctlError(`the ${t} CA has ${crls.length} trusted keys during its rotation, each with its own CRL, and DER holds one`, {
        hint: `pick one with --fingerprint=${crls.map((c) => c.fingerprint).join(' or --fingerprint=')}, or use --format=pem (PostgreSQL and nginx read several CRLs from one file)`,
      });
    }
    data = crls[0]!.der;
  } else {
    data = crls.map((c) => c.pem).join('');
  }
  if (opts.out !== undefined) writeFileAtomic(opts.out, data, { mode: 0o644, overwrite: true });
  else if (typeof data === 'string') stdout(data);
  else stdoutBytes(data);
}
