// Findings for `auth inspect` on an X.509 certificate: what a TLS peer would refuse (error), what
// is risky or unusual (warning), and context (info). Pure: the clock and trust list are inputs.
import type { DecodedCertificate } from './decode.js';
import { weakKeyReason } from './keys.js';
import { isWeakSignatureAlgorithm, verifySignature } from './signer.js';

export interface X509Finding {
  level: 'error' | 'warning' | 'info';
  code: X509LintCode;
  message: string;
}

export const X509_LINT_CODES = [
  'expired', 'not-yet-valid', 'unknown-ca', 'self-signed', 'missing-san', 'wrong-eku', 'weak-key', 'weak-signature',
  'outlives-ca', 'bad-serial', 'unknown-critical-extension', 'not-ca', 'trust-not-checked', 'revoked', 'unreadable',
] as const;
export type X509LintCode = (typeof X509_LINT_CODES)[number];

/** What the certificate is for; `auto` infers server from SANs, client otherwise. */
export type CertificateUse = 'server' | 'client' | 'auto';

export interface X509LintContext {
  now: Date;
  /** CA certificates to check the signature against; undefined means trust is not checked */
  trustedCas?: DecodedCertificate[];
  use?: CertificateUse;
}

const iso = (d: Date) => d.toISOString().replace(/\.000Z$/, 'Z');

/** The trusted CA whose key verifies this certificate's signature, if any. */
export function findIssuer(cert: DecodedCertificate, cas: DecodedCertificate[]): DecodedCertificate | undefined {
  return cas.find((ca) => {
    if (!ca.publicKey || !ca.isCA || !ca.subject.der.equals(cert.issuer.der)) return false;
    try {
      return verifySignature(cert.signatureAlgorithmOid, ca.publicKey, cert.tbs, cert.signature);
    } catch {
      return false;
    }
  });
}

export function lintX509Certificate(cert: DecodedCertificate, ctx: X509LintContext): X509Finding[] {
  const out: X509Finding[] = [];
  const add = (level: X509Finding['level'], code: X509LintCode, message: string) => out.push({ level, code, message });
  const now = ctx.now.getTime();

  if (cert.notAfter.getTime() <= now) add('error', 'expired', `expired at ${iso(cert.notAfter)}`);
  if (cert.notBefore.getTime() > now) add('error', 'not-yet-valid', `not valid before ${iso(cert.notBefore)}`);
  // RFC 5280 §4.1.2.2: positive, at most 20 octets; Go refuses negative serials outright.
  if (cert.serial <= 0n) add('error', 'bad-serial', `serial number ${cert.serialHex} is not positive`);
  else if (cert.serial >= 1n << 159n) add('warning', 'bad-serial', 'serial number is longer than 20 octets');

  const weak = cert.publicKey ? weakKeyReason(cert.publicKey) : `key type is not supported (${cert.keyDescription})`;
  if (weak) add('error', 'weak-key', weak);
  if (isWeakSignatureAlgorithm(cert.signatureAlgorithmOid)) add('error', 'weak-signature', `signed with ${cert.signatureAlgorithm}: SHA-1 and MD5 signatures are refused by current TLS stacks`);
  for (const oid of cert.unknownCriticalExtensions) add('error', 'unknown-critical-extension', `unknown critical extension ${oid}: verifiers must refuse the certificate`);

  if (cert.isCA) {
    if (cert.keyUsage.length > 0 && !cert.keyUsage.includes('keyCertSign')) add('error', 'not-ca', 'CA certificate without keyCertSign in keyUsage');
  } else {
    lintLeafUse(cert, ctx.use ?? 'auto', add);
  }

  lintTrust(cert, ctx, add);
  return out;
}

function lintLeafUse(cert: DecodedCertificate, use: CertificateUse, add: (l: X509Finding['level'], c: X509LintCode, m: string) => void): void {
  const hasSans = cert.dnsNames.length + cert.ipAddresses.length > 0;
  const server = use === 'server' || (use === 'auto' && hasSans);
  const eku = cert.extKeyUsage;
  if (server) {
    if (!hasSans) add('error', 'missing-san', 'server certificate has no subjectAltName: Go, Chrome and verify-full clients ignore the common name');
    if (eku.length > 0 && !eku.includes('serverAuth')) add('error', 'wrong-eku', `server certificate without serverAuth in extendedKeyUsage (has ${eku.join(', ')})`);
  } else if (eku.length > 0 && !eku.includes('clientAuth')) {
    add('error', 'wrong-eku', `client certificate without clientAuth in extendedKeyUsage (has ${eku.join(', ')})`);
  }
  if (cert.keyUsage.includes('keyCertSign')) add('warning', 'wrong-eku', 'leaf certificate has keyCertSign in keyUsage');
  if (cert.keyUsage.includes('keyEncipherment') && cert.publicKey?.asymmetricKeyType !== 'rsa') {
    add('warning', 'wrong-eku', 'keyEncipherment on a non-RSA key: such a key cannot encipher');
  }
}

function lintTrust(cert: DecodedCertificate, ctx: X509LintContext, add: (l: X509Finding['level'], c: X509LintCode, m: string) => void): void {
  if (ctx.trustedCas === undefined) {
    add('info', 'trust-not-checked', `issuer ${cert.issuer.text || '(empty)'} not checked against any CA`);
    return;
  }
  const issuer = findIssuer(cert, ctx.trustedCas);
  if (!issuer) {
    const selfSigned = cert.publicKey && cert.subject.der.equals(cert.issuer.der) && safeVerify(cert, cert);
    add('error', selfSigned ? 'self-signed' : 'unknown-ca',
      selfSigned ? 'self-signed certificate that is not one of the trusted CAs' : `not signed by any trusted CA (issuer ${cert.issuer.text || '(empty)'})`);
    return;
  }
  if (issuer.der.equals(cert.der)) return; // a trusted CA certificate itself
  if (cert.notAfter.getTime() > issuer.notAfter.getTime()) {
    add('warning', 'outlives-ca', `expires ${iso(cert.notAfter)}, after its CA (${iso(issuer.notAfter)}): it stops verifying when the CA expires`);
  }
}

function safeVerify(cert: DecodedCertificate, by: DecodedCertificate): boolean {
  try {
    return by.publicKey !== undefined && verifySignature(cert.signatureAlgorithmOid, by.publicKey, cert.tbs, cert.signature);
  } catch {
    return false;
  }
}
