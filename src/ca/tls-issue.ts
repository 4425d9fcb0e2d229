// Issuing one X.509 certificate from a TLS CA of the store, with the same guarantees as the
// SSH signing session: under the lock, the CA key checked before anything is issued, the
// issuance log appended before the files are handed out, and one audit entry either way.
import { createHash, type KeyObject } from 'node:crypto';
import { recordFailure } from '../store/audit.js';
import type { X509IssuanceRecord } from '../store/issuance.js';
import { loadState } from '../store/state.js';
import { decodeCertificateDer, type IssuedCertificate, issueLeafCertificate, type LeafProfile, spkiDer, type TlsCa } from '../x509/index.js';
import { type Clock, observeSchedules, signingKeyRecord, systemClock, tlsAuthority } from './authority.js';
import { loadTlsIssuer, trustedCaPems } from './tls-keys.js';
import type { CaStore } from '../store/ca-store.js';

/** Which CA signs each profile. */
export const PROFILE_CA: Record<LeafProfile, TlsCa> = {
  'tls-user': 'user',
  'tls-host': 'host',
  'db-server': 'db',
  'db-client': 'db_client',
  'cockroachdb-node': 'db',
};

export interface TlsRequest {
  profile: LeafProfile;
  publicKey: KeyObject;
  names: string[];
  ttlSeconds: number;
  /** the CAs whose trusted certificates the caller hands out beside the certificate (`.cas`, ca.crt) */
  bundles: TlsCa[];
}

export interface TlsIssued {
  certificate: IssuedCertificate;
  record: X509IssuanceRecord;
  /** PEM of the trusted certificates of each requested CA, signer first */
  bundles: Partial<Record<TlsCa, string>>;
}

export function keyPin(key: KeyObject): string {
  return `sha256:${createHash('sha256').update(spkiDer(key)).digest('hex')}`;
}

/**
 * Issues one certificate. deliver writes the files: it runs after the issuance log is appended,
 * inside the audited session, so a delivery that fails is audited as one, naming the serial.
 */
export function issueTlsCertificate(store: CaStore, req: TlsRequest, opts: { deliver: (issued: TlsIssued) => void; clock?: Clock }): TlsIssued {
  const ca = PROFILE_CA[req.profile];
  return store.withLock(() => {
    let issued: TlsIssued | undefined;
    let logged = false;
    const what = () =>
      issued && logged ? { certificates: [{ serial: issued.record.serial, keyId: issued.record.keyId, type: issued.record.type, format: 'x509', ca, caFingerprint: issued.record.caFingerprint }] } : {};
    try {
      const now = (opts.clock ?? systemClock)();
      const state = observeSchedules(store, loadState(store), now);
      const auth = tlsAuthority(state, ca);
      const bundles: Partial<Record<TlsCa, string>> = {};
      for (const b of req.bundles) bundles[b] = trustedCaPems(store, tlsAuthority(state, b)).join('');
      const signerRecord = signingKeyRecord(auth);
      const issuer = loadTlsIssuer(store, signerRecord);
      const certificate = issueLeafCertificate({ profile: req.profile, publicKey: req.publicKey, names: req.names, ttlSeconds: req.ttlSeconds }, issuer, { now });
      // The log records what the certificate says, read back from its DER.
      const decoded = decodeCertificateDer(certificate.der);
      const names = [...decoded.dnsNames, ...decoded.ipAddresses];
      const record: X509IssuanceRecord = {
        serial: certificate.serialHex,
        format: 'x509',
        ca,
        type: req.profile,
        keyId: decoded.subject.commonName ?? '',
        principals: names.length > 0 ? names : [decoded.subject.commonName ?? ''],
        validAfter: certificate.notBefore.toISOString(),
        validBefore: certificate.notAfter.toISOString(),
        caFingerprint: signerRecord.fingerprint,
        publicKeyFingerprint: keyPin(req.publicKey),
        issuedAt: now.toISOString(),
      };
      issued = { certificate, record, bundles };
      store.appendIssuance([record]);
      // On record before the certificate is handed out.
      store.checkpoint();
      logged = true;
      opts.deliver(issued);
    } catch (err) {
      recordFailure(store, { command: 'auth sign', what: what(), result: 'error', error: (err as Error).message });
      throw err;
    }
    store.appendAudit({ command: 'auth sign', what: what(), result: 'ok' });
    return issued;
  });
}
