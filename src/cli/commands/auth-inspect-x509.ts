// `auth inspect` on X.509 files (PEM, a PEM bundle, or DER): decoded fields and the findings of
// src/x509/lint.ts, checked against this data dir's trusted TLS CA certificates when there is one.
import { loadCurrentState, trustedKeyRecords } from '../../ca/authority.js';
import { caCertificate, caPin } from '../../ca/tls-keys.js';
import { RevocationIndex } from '../../store/revocations.js';
import { type DecodedCertificate, decodeCertificates, findIssuer, lintX509Certificate, TLS_CAS, type X509Finding } from '../../x509/index.js';
import type { CaStore } from '../../store/ca-store.js';

export interface X509Result {
  file: string;
  summary: string;
  json: Record<string, unknown> | null;
  findings: X509Finding[];
}

interface KnownCa {
  ca: string;
  cert: DecodedCertificate;
}

/** The trusted TLS CA certificates of the data dir (undefined: no data dir, so trust is not checked). */
export function knownCas(store: CaStore, now: Date): { cas: KnownCa[]; revoked: RevocationIndex } | undefined {
  if (!store.isInitialised()) return undefined;
  const state = loadCurrentState(store, () => now);
  if (!state.tls) return undefined;
  const cas: KnownCa[] = [];
  for (const t of TLS_CAS) {
    const a = state.tls[t];
    if (a) for (const r of trustedKeyRecords(a)) cas.push({ ca: t.replace('_', '-'), cert: caCertificate(store, r) });
  }
  return { cas, revoked: new RevocationIndex(store.readRevocations()) };
}

const iso = (d: Date) => d.toISOString().replace(/\.000Z$/, 'Z');

export function inspectX509(file: string, data: Buffer, known: ReturnType<typeof knownCas>, now: Date, printable: (s: string) => string): X509Result[] {
  let certs: DecodedCertificate[];
  try {
    certs = decodeCertificates(data, file);
  } catch (err) {
    return [{ file, summary: '', json: null, findings: [{ level: 'error', code: 'unreadable', message: (err as Error).message }] }];
  }
  return certs.map((cert, i) => {
    const name = certs.length > 1 ? `${file}#${i + 1}` : file;
    const findings = lintX509Certificate(cert, { now, trustedCas: known?.cas.map((k) => k.cert) });
    const issuer = known && findIssuer(cert, known.cas.map((k) => k.cert));
    const signing = issuer ? known!.cas.find((k) => k.cert === issuer) : undefined;
    if (signing && known!.revoked.x509SerialRevocation(cert.serialHex, caPin(signing.cert.spki))) {
      findings.push({ level: 'error', code: 'revoked', message: `serial ${cert.serialHex} is revoked (tctl auth crl --type=${signing.ca} lists it)` });
    }
    const json = {
      format: 'x509',
      isCA: cert.isCA,
      subject: cert.subject.text,
      issuer: cert.issuer.text,
      serial: cert.serialHex,
      notBefore: iso(cert.notBefore),
      notAfter: iso(cert.notAfter),
      publicKey: cert.keyDescription,
      publicKeyFingerprint: caPin(cert.spki),
      signatureAlgorithm: cert.signatureAlgorithm,
      keyUsage: cert.keyUsage,
      extKeyUsage: cert.extKeyUsage,
      dnsNames: cert.dnsNames,
      ipAddresses: cert.ipAddresses,
      signingCa: signing ? { ca: signing.ca, fingerprint: caPin(signing.cert.spki) } : null,
    };
    const list = (items: string[]) => (items.length === 0 ? '(none)' : items.map(printable).join(', '));
    const lines = [
      `${printable(name)}:`,
      `        Type: X.509 ${cert.isCA ? 'CA' : 'leaf'} certificate`,
      `        Subject: ${printable(cert.subject.text)}`,
      `        Issuer: ${printable(cert.issuer.text)}`,
      `        Serial: ${cert.serialHex}`,
      `        Valid: from ${iso(cert.notBefore)} to ${iso(cert.notAfter)}`,
      `        Public key: ${cert.keyDescription} ${json.publicKeyFingerprint}`,
      `        Signature: ${cert.signatureAlgorithm}`,
      `        Signing CA: ${signing ? `tls ${signing.ca} CA ${json.signingCa!.fingerprint}` : known ? 'not a CA of this cluster' : 'not checked'}`,
      `        Key usage: ${list(cert.keyUsage)}`,
      `        Extended key usage: ${list(cert.extKeyUsage)}`,
      `        DNS names: ${list(cert.dnsNames)}`,
      `        IP addresses: ${list(cert.ipAddresses)}`,
      ...findings.map((f) => `${f.level}: ${f.code}: ${printable(f.message)}`),
    ];
    return { file: name, summary: lines.join('\n') + '\n', json, findings };
  });
}
