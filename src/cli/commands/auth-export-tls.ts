// `auth export` for the TLS CAs: the CA certificates a TLS peer must trust, in PEM (every trusted
// certificate, two during a rotation) or DER (one certificate, binary, as Windows and some Java
// tools want it).
import { loadCurrentState, tlsAuthority, trustedKeyRecords } from '../../ca/authority.js';
import { checkCaKey, tlsFingerprintOf } from '../../ca/key-access.js';
import { caCertificate } from '../../ca/tls-keys.js';
import { TctlError, UsageError, checkTlsPin } from '../../errors.js';
import { writeFileAtomic } from '../../store/files.js';
import type { TlsCa } from '../../x509/types.js';
import { isTerminal, stdout, stdoutBytes } from '../output.js';
import type { CaStore } from '../../store/ca-store.js';

/** Each export type: the CA it names and whether it is DER. */
export const TLS_EXPORT_TYPES: Record<string, { ca: TlsCa; der: boolean }> = {
  'tls-host': { ca: 'host', der: false },
  tls: { ca: 'host', der: false },
  'tls-user': { ca: 'user', der: false },
  'tls-user-der': { ca: 'user', der: true },
  windows: { ca: 'user', der: true },
  db: { ca: 'db', der: false },
  'db-der': { ca: 'db', der: true },
  'db-client': { ca: 'db_client', der: false },
  db_client: { ca: 'db_client', der: false },
  'db-client-der': { ca: 'db_client', der: true },
  'db_client-der': { ca: 'db_client', der: true },
};

const PEM_TYPE: Record<TlsCa, string> = { host: 'tls-host', user: 'tls-user', db: 'db', db_client: 'db-client' };

export async function exportTls(store: CaStore, type: string, opts: { fingerprint?: string; out?: string }): Promise<void> {
  const { ca, der } = TLS_EXPORT_TYPES[type]!;
  if (opts.fingerprint !== undefined) checkTlsPin(opts.fingerprint);
  // Refused before any work, as the KRL is: DER on a terminal is noise at best.
  if (der && opts.out === undefined && isTerminal(1)) {
    throw new UsageError(`refusing to write a binary certificate to a terminal`, `use -o FILE or redirect: tctl auth export --type=${type} > ${ca.replace('_', '-')}-ca.cer`);
  }
  const state = loadCurrentState(store);
  const records = trustedKeyRecords(tlsAuthority(state, ca)).filter((r) => opts.fingerprint === undefined || r.fingerprint === opts.fingerprint);
  if (records.length === 0) {
    throw new TctlError(`no trusted ${ca.replace('_', '-')} CA certificate has fingerprint ${opts.fingerprint}`, { hint: 'tctl status lists the trusted CA pins' });
  }
  // As for SSH exports: nothing is exported from a data dir whose trusted keys could no longer sign.
  for (const r of trustedKeyRecords(tlsAuthority(state, ca))) {
    caCertificate(store, r);
    checkCaKey(store, r, tlsFingerprintOf);
  }
  const certs = records.map((r) => ({ record: r, cert: caCertificate(store, r) }));
  let data: string | Buffer;
  if (der) {
    if (certs.length > 1) {
      throw new TctlError(`the ${ca.replace('_', '-')} CA trusts ${certs.length} certificates during its rotation and DER holds one`, {
        hint: `pick one with --fingerprint=${certs.map((c) => c.record.fingerprint).join(' or --fingerprint=')}, or get them all in PEM with --type=${PEM_TYPE[ca]}`,
      });
    }
    data = certs[0]!.cert.der;
  } else {
    data = certs.map((c) => c.record.certificate).join('');
  }
  if (opts.out !== undefined) writeFileAtomic(opts.out, data, { mode: 0o644, overwrite: true });
  else if (typeof data === 'string') stdout(data);
  else stdoutBytes(data);
}
