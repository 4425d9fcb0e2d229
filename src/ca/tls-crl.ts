// CRLs for a TLS CA (RFC 5280 §5): one per trusted key of the CA, signed by that key, listing the
// revoked serials it issued. Retired keys have no private key left to sign with; their
// certificates stop working because the CA certificate is no longer trusted.
import { TctlError } from '../errors.js';
import { createCrl, type TlsCa } from '../x509/index.js';
import { type Clock, loadCurrentState, systemClock, tlsAuthority, trustedKeyRecords } from './authority.js';
import { loadTlsIssuer } from './tls-keys.js';
import type { CaStore } from '../store/ca-store.js';

/** Teleport's CRLs last a year; PostgreSQL refuses every client once nextUpdate passes. */
export const DEFAULT_CRL_TTL_SECONDS = 8760 * 3600;

export interface SignedCrl {
  /** the pin of the CA key that signed it */
  fingerprint: string;
  der: Buffer;
  pem: string;
  entries: number;
}

/** The CRLs of every trusted key of the CA, or of the one key whose pin is `fingerprint`. */
export function buildCrls(store: CaStore, ca: TlsCa, opts: { ttlSeconds: number; fingerprint?: string; clock?: Clock }): SignedCrl[] {
  const now = (opts.clock ?? systemClock)();
  const state = loadCurrentState(store, () => now);
  const records = trustedKeyRecords(tlsAuthority(state, ca)).filter((r) => opts.fingerprint === undefined || r.fingerprint === opts.fingerprint);
  if (records.length === 0) {
    throw new TctlError(`no trusted ${ca.replace('_', '-')} CA key has fingerprint ${opts.fingerprint}`, { hint: 'tctl status lists the trusted CA pins' });
  }
  const revocations = store.readRevocations();
  return records.map((record) => {
    const issuer = loadTlsIssuer(store, record);
    const revoked = revocations.flatMap((r) =>
      r.kind === 'x509-serial' && r.caFingerprint === record.fingerprint ? [{ serial: BigInt('0x' + r.serial), revokedAt: new Date(r.revokedAt) }] : [],
    );
    const crl = createCrl(
      {
        // Back-dated a minute, as certificates are, for servers with a slow clock.
        thisUpdate: new Date(now.getTime() - 60_000),
        nextUpdate: new Date(now.getTime() + opts.ttlSeconds * 1000),
        // Unix seconds: increases with every new CRL without a counter to keep (RFC 5280 §5.2.3).
        number: BigInt(Math.floor(now.getTime() / 1000)),
        revoked,
      },
      issuer,
    );
    return { fingerprint: record.fingerprint, der: crl.der, pem: crl.pem, entries: new Set(revoked.map((r) => r.serial)).size };
  });
}
