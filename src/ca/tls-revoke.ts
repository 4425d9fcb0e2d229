// `auth revoke --cert=FILE` with an X.509 certificate: which TLS CA key of this cluster signed it.
import { TctlError } from '../errors.js';
import { loadState } from '../store/state.js';
import { decodeCertificates, findIssuer, TLS_CAS } from '../x509/index.js';
import type { RevokeTarget } from './revocation.js';
import { caCertificate } from './tls-keys.js';
import type { CaStore } from '../store/ca-store.js';

export function x509RevokeTarget(store: CaStore, file: string, input: Buffer): RevokeTarget {
  const certs = decodeCertificates(input, `--cert ${file}`);
  if (certs.length !== 1) throw new TctlError(`--cert ${file} holds ${certs.length} certificates; give one`);
  const cert = certs[0]!;
  const state = loadState(store);
  // Every key each TLS CA has had: a certificate from a retired key is still ours to revoke.
  for (const ca of TLS_CAS) {
    const a = state.tls?.[ca];
    if (!a) continue;
    for (const record of [a.current, ...(a.next ? [a.next] : []), ...a.retired]) {
      if (findIssuer(cert, [caCertificate(store, record)])) {
        if (cert.serial <= 0n) throw new TctlError(`${file} has serial ${cert.serialHex}, which a CRL cannot list`);
        return { by: 'x509-cert', serial: cert.serialHex, ca, caFingerprint: record.fingerprint };
      }
    }
  }
  throw new TctlError(`${file} was not signed by any TLS CA key of this cluster (issuer ${cert.issuer.text || '(empty)'})`);
}
