// Public keys handed to `auth sign --public-key`: a PKCS#10 CSR (RFC 2986), whose self-signature
// proves the requester holds the private key, or a bare PEM public key. Only the key is used from
// a CSR: names and extensions come from the command line, never from the request.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { TctlError } from '../errors.js';
import { bitStringBytes, children, fromDer, isContext, isUniversal, oidOf, readInteger, sequence, toDer, TYPE } from './forge.js';
import { checkPublicKey, parsePublicKeyPem } from './keys.js';
import { pemDecode } from './pem.js';
import { verifySignature } from './signer.js';

export interface CertificationRequest {
  publicKey: KeyObject;
  /** the CSR's own subject, for display only */
  subjectCommonName?: string;
  der: Buffer;
}

/** Decodes a DER CSR and checks its signature over the CertificationRequestInfo and its key strength. */
export function parseCsrDer(der: Buffer): CertificationRequest {
  const top = sequence(fromDer(der, 'certificate request'), 'CertificationRequest');
  const [info, sigAlg, sig] = top;
  if (top.length !== 3 || !info || !sigAlg || !sig) throw new TctlError('certificate request is malformed: expected info, algorithm and signature');
  const infoFields = sequence(info, 'CertificationRequestInfo');
  const [version, subject, spkiNode, attributes] = infoFields;
  if (infoFields.length !== 4 || !isContext(attributes, 0)) throw new TctlError('certificate request is malformed: expected version, subject, key and attributes');
  if (!version || !isUniversal(version, TYPE.INTEGER) || readInteger(version) !== 0n) throw new TctlError('certificate request is malformed: unsupported version');
  if (!subject || !isUniversal(subject, TYPE.SEQUENCE) || !spkiNode || !isUniversal(spkiNode, TYPE.SEQUENCE)) throw new TctlError('certificate request is malformed: no public key');
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: toDer(spkiNode), format: 'der', type: 'spki' });
  } catch {
    throw new TctlError('certificate request holds a public key of an unsupported type');
  }
  checkPublicKey(publicKey, 'the certificate request key');
  const algOid = oidOf(sequence(sigAlg, 'signatureAlgorithm')[0]!);
  // fromDer refused anything but DER, so the re-encoded info is byte for byte what was signed.
  if (!verifySignature(algOid, publicKey, toDer(info), bitStringBytes(sig))) {
    throw new TctlError('certificate request signature does not verify', { hint: 'the request was altered or not signed by its key; generate it again' });
  }
  return { publicKey, subjectCommonName: commonNameOf(subject), der };
}

function commonNameOf(subject: ReturnType<typeof fromDer>): string | undefined {
  for (const rdn of children(subject, 'subject')) {
    for (const atv of children(rdn, 'RDN')) {
      const [type, value] = children(atv, 'attribute');
      if (type && value && oidOf(type) === '2.5.4.3' && typeof value.value === 'string') return Buffer.from(value.value, 'latin1').toString('utf8');
    }
  }
  return undefined;
}

/**
 * What `--public-key=FILE` accepts: one PEM `CERTIFICATE REQUEST` (also `NEW CERTIFICATE REQUEST`),
 * `PUBLIC KEY` or `RSA PUBLIC KEY`. A private key is refused rather than quietly reduced to its
 * public half: it should not have been handed over.
 */
export function parsePublicKeyInput(input: Buffer | string): { publicKey: KeyObject; source: 'csr' | 'public-key'; request?: CertificationRequest } {
  const blocks = pemDecode(input, 'public key file');
  if (blocks.length !== 1) {
    throw new TctlError(blocks.length === 0 ? 'public key file holds no PEM block' : `public key file holds ${blocks.length} PEM blocks; expected one`, {
      hint: 'give a PEM "PUBLIC KEY" or a PKCS#10 "CERTIFICATE REQUEST"',
    });
  }
  const block = blocks[0]!;
  if (block.label === 'CERTIFICATE REQUEST') {
    const request = parseCsrDer(block.der);
    return { publicKey: request.publicKey, source: 'csr', request };
  }
  if (block.label === 'PUBLIC KEY' || block.label === 'RSA PUBLIC KEY') {
    return { publicKey: parsePublicKeyPem(typeof input === 'string' ? input : input.toString('utf8')), source: 'public-key' };
  }
  if (block.label.includes('PRIVATE KEY')) throw new TctlError('public key file holds a private key', { hint: 'give the public key or a certificate request; keep the private key where it is' });
  throw new TctlError(`public key file holds a "${block.label}" PEM block`, { hint: 'give a PEM "PUBLIC KEY" or a PKCS#10 "CERTIFICATE REQUEST"' });
}
