// What the issuance log says about the certificates out there: each one's status (revoked,
// expired, signed by a key nobody trusts any more, valid), and how many live ones a CA key that
// a rotation is about to drop still signed.
import type { Phase } from '../rotation/phases.js';
import { isX509Record } from '../store/issuance.js';
import type { IssuanceLine } from '../store/issuance.js';
import { RevocationIndex } from '../store/revocations.js';
import { CA_TYPES } from '../store/state.js';
import type { AuthorityOf, State } from '../store/state.js';
import { trustedKeyRecords } from './ca-keys.js';
import type { CaStore } from '../store/ca-store.js';

/** "untrusted-ca": signed by a key the current exports no longer list (a rotation retired it). */
export type CertStatus = 'valid' | 'expired' | 'revoked' | 'untrusted-ca';
export const CERT_STATUSES: readonly CertStatus[] = ['valid', 'expired', 'revoked', 'untrusted-ca'];

/** The fingerprints (SSH) or pins (TLS) each record's CA trusts now, by the record's CA. */
export function trustedFingerprints(state: State): (r: IssuanceLine) => ReadonlySet<string> {
  const ssh = Object.fromEntries(CA_TYPES.map((t) => [t, new Set(trustedKeyRecords(state.authorities[t]).map((k) => k.fingerprint))]));
  const tls = Object.fromEntries(Object.entries(state.tls ?? {}).map(([t, a]) => [t, new Set(trustedKeyRecords(a!).map((k) => k.fingerprint))]));
  const none = new Set<string>();
  return (r) => (isX509Record(r) ? (tls[r.ca] ?? none) : (ssh[r.type] ?? none));
}

/**
 * Revoked wins over expired, and both over untrusted: a revoked cert stays revoked after it
 * expires, and an expired one needs no CA to fail. An X.509 certificate is revoked by its serial
 * only (what its CRL lists); key id and key revocations are SSH's.
 */
export function certStatus(r: IssuanceLine, index: RevocationIndex, now: Date, trusted?: ReadonlySet<string>): CertStatus {
  if (isX509Record(r)) {
    if (index.x509SerialRevocation(r.serial, r.caFingerprint)) return 'revoked';
  } else if (index.isSerialRevoked(r.serial, r.caFingerprint) || index.isKeyIdRevoked(r.keyId, r.type) || index.isKeyFingerprintRevoked(r.publicKeyFingerprint)) {
    return 'revoked';
  }
  if (r.validBefore !== 'forever' && Date.parse(r.validBefore) <= now.getTime()) return 'expired';
  if (trusted !== undefined && !trusted.has(r.caFingerprint)) return 'untrusted-ca';
  return 'valid';
}

/** The key a rotation drops when it ends: the old one going forward, the new one in a rollback. */
export function retiringKey<K>(auth: AuthorityOf<K>): K | undefined {
  const phase: Phase = auth.rotation.phase;
  if (phase === 'standby') return undefined;
  return phase === 'rollback' ? auth.next : auth.current;
}

/** How many unexpired, unrevoked certificates each of these CA fingerprints signed (one pass over the log). */
export function liveCertificateCounts(store: CaStore, fingerprints: readonly string[], now: Date): Map<string, number> {
  const counts = new Map(fingerprints.map((f) => [f, 0]));
  if (fingerprints.length === 0) return counts;
  const index = new RevocationIndex(store.readRevocations());
  for (const r of store.issuance()) {
    const n = counts.get(r.caFingerprint);
    if (n !== undefined && certStatus(r, index, now) === 'valid') counts.set(r.caFingerprint, n + 1);
  }
  return counts;
}
