// Certificate templates and issuing: one CA profile and five leaf profiles, defaults in one place
// (as smallstep's x509util), encoded by forge.asn1 and signed through an X509Signer (as Go's
// x509.CreateCertificate takes a crypto.Signer), so an HSM key needs no code here.
import { randomBytes, type KeyObject } from 'node:crypto';
import { TctlError, allowedValues } from '../errors.js';
import { checkClusterName, checkHostPrincipal } from '../ca/principals.js';
import { decodeCertificateDer } from './decode.js';
import {
  type ExtendedKeyUsage, type KeyUsage, authorityKeyIdentifier, basicConstraints, extKeyUsage, keyIdentifier, keyUsage,
  subjectAltName, subjectKeyIdentifier,
} from './extensions.js';
import { type Asn1, bitsFromBytes, explicit, raw, seq, time, toDer, uint } from './forge.js';
import { checkPublicKey, LEAF_PROFILES, type LeafProfile, spkiDer } from './keys.js';
import { type AltNames, checkCommonName, distinguishedName, NAME_OID, splitHosts } from './names.js';
import { pemEncode } from './pem.js';
import { algorithmIdentifier, type X509Signer } from './signer.js';

/** Teleport back-dates notBefore one minute so a server with a slow clock accepts a fresh cert. */
export const BACKDATE_MS = 60_000;
export const CA_VALIDITY_YEARS = 10;
/** Longest leaf validity accepted (the SSH side's cap); the CA's own expiry usually binds first. */
export const MAX_LEAF_TTL_SECONDS = 87600 * 3600;

export type RandomSource = (size: number) => Buffer;

/**
 * A random serial: 16 random bytes read as a positive integer (RFC 5280 §4.1.2.2 allows 20 octets;
 * CA/B Forum asks for at least 64 bits of randomness; we keep 128). The DER encoder adds the 0x00
 * that keeps a top-bit-set serial positive. Zero, which RFC 5280 forbids, is drawn again.
 */
export function randomSerial(random: RandomSource = randomBytes): bigint {
  for (let attempt = 0; attempt < 8; attempt++) {
    const bytes = random(16);
    if (bytes.length !== 16) throw new TctlError('random source returned the wrong number of bytes');
    const serial = BigInt('0x' + bytes.toString('hex'));
    if (serial !== 0n) return serial;
  }
  throw new TctlError('random source keeps returning zero');
}

/** A CA ready to sign: its certificate's subject, key id and validity, and the signer of its key. */
export interface Issuer {
  signer: X509Signer;
  certificateDer: Buffer;
  subjectDer: Buffer;
  keyId: Buffer;
  notBefore: Date;
  notAfter: Date;
}

export interface IssuedCertificate {
  der: Buffer;
  pem: string;
  serial: bigint;
  /** lowercase hex, no leading zeros: the form the issuance log records and `auth revoke --serial` takes */
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  /** true when notAfter was cut to the CA certificate's expiry */
  clamped: boolean;
}

interface Template {
  serial: bigint;
  issuer: Asn1;
  subject: Asn1;
  notBefore: Date;
  notAfter: Date;
  spki: Buffer;
  extensions: Asn1[];
}

function sign(template: Template, signer: X509Signer): IssuedCertificate & { clamped: false } {
  const alg = algorithmIdentifier(signer.algorithm);
  const tbs = seq([
    explicit(0, uint(2n)), // v3
    uint(template.serial),
    alg,
    template.issuer,
    seq([time(template.notBefore), time(template.notAfter)]),
    template.subject,
    raw(template.spki),
    explicit(3, seq(template.extensions)),
  ]);
  const tbsDer = toDer(tbs);
  const der = toDer(seq([tbs, algorithmIdentifier(signer.algorithm), bitsFromBytes(signer.sign(tbsDer))]));
  const serialHex = template.serial.toString(16);
  return { der, pem: pemEncode('CERTIFICATE', der), serial: template.serial, serialHex, notBefore: template.notBefore, notAfter: template.notAfter, clamped: false };
}

const wholeSeconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);

/**
 * A self-signed CA certificate: CN=O=<cluster> (Teleport's tlsca), 10 years, basicConstraints
 * CA:TRUE critical, keyUsage keyCertSign+cRLSign+digitalSignature critical, SKI, and AKI = SKI.
 */
export function createCaCertificate(opts: { clusterName: string; signer: X509Signer; now: Date; random?: RandomSource }): IssuedCertificate {
  const clusterName = checkClusterName(opts.clusterName);
  checkCommonName(clusterName);
  const spki = spkiDer(opts.signer.publicKey);
  const keyId = keyIdentifier(spki);
  const name = distinguishedName([
    { type: NAME_OID.organization, value: clusterName },
    { type: NAME_OID.commonName, value: clusterName },
  ]);
  const notBefore = wholeSeconds(opts.now.getTime() - BACKDATE_MS);
  const notAfter = new Date(notBefore);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CA_VALIDITY_YEARS);
  return sign({
    serial: randomSerial(opts.random), issuer: name, subject: name, notBefore, notAfter, spki,
    extensions: [
      keyUsage(['digitalSignature', 'keyCertSign', 'cRLSign']),
      basicConstraints(true),
      subjectKeyIdentifier(keyId),
      authorityKeyIdentifier(keyId),
    ],
  }, opts.signer);
}

/** Binds a CA certificate to the signer of its key, refusing a pair that does not match or a non-CA certificate. */
export function issuerFromCertificate(certificateDer: Buffer, signer: X509Signer): Issuer {
  const cert = decodeCertificateDer(certificateDer);
  if (!cert.isCA) throw new TctlError(`certificate "${cert.subject.text}" is not a CA certificate`);
  if (!cert.spki.equals(spkiDer(signer.publicKey))) throw new TctlError(`the CA key does not match the CA certificate "${cert.subject.text}"`);
  return {
    signer, certificateDer, subjectDer: cert.subject.der, keyId: cert.subjectKeyId ?? keyIdentifier(cert.spki),
    notBefore: cert.notBefore, notAfter: cert.notAfter,
  };
}

export interface LeafRequest {
  profile: LeafProfile;
  publicKey: KeyObject;
  /** tls-user, db-client: the one user name (CN). Host profiles: host names and IPs; CN is the first (cockroachdb-node: CN=node). */
  names: string[];
  ttlSeconds: number;
}

interface ProfileRules {
  kind: 'user' | 'host';
  eku: ExtendedKeyUsage[];
}

/**
 * EKUs per profile. db-server carries clientAuth too, as Teleport's db certs do: MongoDB replica
 * set members, CockroachDB nodes and Redis cluster nodes present their server cert when they dial
 * each other. tls-host stays serverAuth only, as the issue asks. cockroachdb-node: `cockroach
 * cert create-node` writes both.
 */
export const PROFILES: Record<LeafProfile, ProfileRules> = {
  'tls-user': { kind: 'user', eku: ['clientAuth'] },
  'tls-host': { kind: 'host', eku: ['serverAuth'] },
  'db-server': { kind: 'host', eku: ['serverAuth', 'clientAuth'] },
  'db-client': { kind: 'user', eku: ['clientAuth'] },
  'cockroachdb-node': { kind: 'host', eku: ['serverAuth', 'clientAuth'] },
};

/** keyEncipherment only means something for RSA key transport (RFC 5280 §4.2.1.3); EC/Ed25519 keys only sign. */
export function leafKeyUsage(key: KeyObject): KeyUsage[] {
  return key.asymmetricKeyType === 'rsa' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'];
}

/** Subject CN and SANs of a request, validated; throws before anything is signed. */
export function checkLeafRequest(req: LeafRequest): { commonName: string; altNames?: AltNames } {
  if (!(LEAF_PROFILES as readonly string[]).includes(req.profile)) {
    throw new TctlError(`unknown certificate profile "${req.profile}"; allowed values: ${allowedValues(LEAF_PROFILES)}`);
  }
  if (!Number.isSafeInteger(req.ttlSeconds) || req.ttlSeconds < 60 || req.ttlSeconds > MAX_LEAF_TTL_SECONDS) {
    throw new TctlError(`invalid certificate TTL ${req.ttlSeconds}s: must be a whole number of seconds from 60 to ${MAX_LEAF_TTL_SECONDS}`);
  }
  checkPublicKey(req.publicKey);
  const rules = PROFILES[req.profile];
  if (rules.kind === 'user') {
    if (req.names.length !== 1) throw new TctlError(`a ${req.profile} certificate names exactly one user (got ${req.names.length})`);
    return { commonName: checkCommonName(req.names[0]!) };
  }
  if (req.names.length === 0) throw new TctlError('at least one hostname must be specified');
  const altNames = splitHosts(req.names);
  const first = checkHostPrincipal(req.names[0]!);
  return { commonName: checkCommonName(req.profile === 'cockroachdb-node' ? 'node' : first), altNames };
}

/**
 * Issues a leaf certificate. notBefore is back-dated a minute; notAfter is cut to the CA
 * certificate's notAfter (clamped=true says so) because a chain is invalid past its CA's expiry
 * and refusing would break the default 12h TTL in a CA's last day. A CA already expired, or whose
 * remaining life is under a minute, is refused.
 */
export function issueLeafCertificate(req: LeafRequest, issuer: Issuer, opts: { now: Date; random?: RandomSource }): IssuedCertificate {
  const { commonName, altNames } = checkLeafRequest(req);
  const now = opts.now.getTime();
  const notBefore = wholeSeconds(Math.max(now - BACKDATE_MS, issuer.notBefore.getTime()));
  let notAfter = wholeSeconds(now + req.ttlSeconds * 1000);
  let clamped = false;
  if (notAfter.getTime() > issuer.notAfter.getTime()) {
    notAfter = wholeSeconds(issuer.notAfter.getTime());
    clamped = true;
  }
  if (notAfter.getTime() - now < 60_000) {
    throw new TctlError(`the CA certificate expires ${issuer.notAfter.toISOString()}: it can no longer issue certificates`, { hint: 'rotate this CA' });
  }
  const extensions = [
    keyUsage(leafKeyUsage(req.publicKey)),
    extKeyUsage(PROFILES[req.profile].eku),
    basicConstraints(false),
    authorityKeyIdentifier(issuer.keyId),
  ];
  if (altNames) extensions.push(subjectAltName(altNames));
  const issued = sign({
    serial: randomSerial(opts.random),
    issuer: raw(issuer.subjectDer),
    subject: distinguishedName([{ type: NAME_OID.commonName, value: commonName }]),
    notBefore, notAfter, spki: spkiDer(req.publicKey), extensions,
  }, issuer.signer);
  return { ...issued, clamped };
}
