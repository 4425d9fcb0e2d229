// Reads a certificate into a plain object for `auth inspect`, `auth ls` and issuing (the CA's
// subject and key id). Structure comes from forge's DER parser; keys from node:crypto.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { TctlError } from '../errors.js';
import {
  type Asn1, TYPE, bitStringBytes, bytesOf, children, fromDer, isContext, isUniversal, oidOf, readInteger, readString, readTime, sequence, toDer,
} from './forge.js';
import { describeKey } from './keys.js';
import { EKU, EXT, KEY_USAGE_BITS, type KeyUsage } from './extensions.js';
import { ipText, NAME_OID } from './names.js';
import { looksLikePem, pemBlocksOf } from './pem.js';
import { signatureAlgorithmName } from './signer.js';

export interface DistinguishedName {
  commonName?: string;
  organization: string[];
  /** e.g. `O=example.com, CN=example.com` */
  text: string;
  der: Buffer;
}

export interface DecodedCertificate {
  der: Buffer;
  version: number;
  /** signed, as encoded: a negative or zero serial shows up as such */
  serial: bigint;
  /** lowercase hex of the serial's magnitude, prefixed with `-` if negative (what `auth revoke --serial` takes) */
  serialHex: string;
  subject: DistinguishedName;
  issuer: DistinguishedName;
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
  ipAddresses: string[];
  /** `serverAuth`, `clientAuth`, or the OID of any other purpose; empty when there is no EKU extension */
  extKeyUsage: string[];
  /** empty when there is no keyUsage extension */
  keyUsage: KeyUsage[];
  /** basicConstraints cA; false when the extension is absent */
  isCA: boolean;
  subjectKeyId?: Buffer;
  authorityKeyId?: Buffer;
  /** undefined when node:crypto cannot read the key type */
  publicKey?: KeyObject;
  /** e.g. `ECDSA P-256`, `RSA 2048` */
  keyDescription: string;
  spki: Buffer;
  signatureAlgorithm: string;
  signatureAlgorithmOid: string;
  /** critical extensions this decoder does not know (a verifier must then refuse the certificate) */
  unknownCriticalExtensions: string[];
  tbs: Buffer;
  signature: Buffer;
}

const ATTRIBUTE_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O', '2.5.4.11': 'OU',
  '0.9.2342.19200300.100.1.25': 'DC', '1.2.840.113549.1.9.1': 'emailAddress', '2.5.4.5': 'serialNumber',
};

function readName(node: Asn1): DistinguishedName {
  const parts: string[] = [];
  const organization: string[] = [];
  let commonName: string | undefined;
  for (const rdn of children(node, 'Name')) {
    for (const atv of children(rdn, 'RelativeDistinguishedName')) {
      const [type, value] = children(atv, 'AttributeTypeAndValue');
      if (!type || !value) throw new TctlError('malformed name attribute');
      const typeOid = oidOf(type);
      const text = readString(value);
      if (typeOid === NAME_OID.commonName) commonName ??= text;
      if (typeOid === NAME_OID.organization) organization.push(text);
      parts.push(`${ATTRIBUTE_NAMES[typeOid] ?? typeOid}=${text}`);
    }
  }
  return { commonName, organization, text: parts.join(', '), der: toDer(node) };
}

export function serialHex(serial: bigint): string {
  return serial < 0n ? `-${(-serial).toString(16)}` : serial.toString(16);
}

interface Extension {
  id: string;
  critical: boolean;
  value: Asn1;
}

function readExtensions(node: Asn1 | undefined): Extension[] {
  if (!node) return [];
  const [list] = children(node, 'extensions');
  if (!list) throw new TctlError('empty extensions wrapper');
  return children(list, 'Extensions').map((ext) => {
    const parts = sequence(ext, 'Extension');
    const id = oidOf(parts[0]!);
    const critical = parts.length === 3 && bytesOf(parts[1]!)[0] !== 0;
    const value = fromDer(bytesOf(parts[parts.length - 1]!), `extension ${id}`);
    return { id, critical, value };
  });
}

const KNOWN_EXTENSIONS = new Set<string>(Object.values(EXT));
const EKU_NAMES = Object.fromEntries(Object.entries(EKU).map(([name, o]) => [o, name]));
const KEY_USAGE_NAMES = Object.keys(KEY_USAGE_BITS) as KeyUsage[];

/** Decodes one DER certificate; throws TctlError naming what is malformed. */
export function decodeCertificateDer(der: Buffer): DecodedCertificate {
  try {
    return decode(der);
  } catch (err) {
    if (err instanceof TctlError && err.message.startsWith('certificate')) throw err;
    throw new TctlError(`certificate is malformed: ${(err as Error).message}`);
  }
}

function decode(der: Buffer): DecodedCertificate {
  const top = sequence(fromDer(der, 'certificate'), 'Certificate');
  const [tbsNode, sigAlg, sigValue] = top;
  if (top.length !== 3 || !tbsNode || !sigAlg || !sigValue) throw new TctlError('expected tbsCertificate, signatureAlgorithm, signature');
  const fields = sequence(tbsNode, 'tbsCertificate');
  let i = 0;
  let version = 1;
  if (isContext(fields[0], 0)) {
    version = Number(readInteger(children(fields[0]!, 'version')[0]!)) + 1;
    i = 1;
  }
  const [serialNode, , issuerNode, validityNode, subjectNode, spkiNode, ...rest] = fields.slice(i);
  if (!serialNode || !issuerNode || !validityNode || !subjectNode || !spkiNode) throw new TctlError('tbsCertificate is incomplete');
  if (!isUniversal(serialNode, TYPE.INTEGER)) throw new TctlError('serial number is not an INTEGER');
  const serial = readInteger(serialNode);
  const [nb, na] = sequence(validityNode, 'validity');
  const extensions = readExtensions(rest.find((n) => isContext(n, 3)));
  const spki = toDer(spkiNode);
  let publicKey: KeyObject | undefined;
  try {
    publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    publicKey = undefined;
  }
  const out: DecodedCertificate = {
    der, version, serial, serialHex: serialHex(serial),
    subject: readName(subjectNode), issuer: readName(issuerNode),
    notBefore: readTime(nb!), notAfter: readTime(na!),
    dnsNames: [], ipAddresses: [], extKeyUsage: [], keyUsage: [], isCA: false,
    publicKey, keyDescription: publicKey ? describeKey(publicKey) : `unknown key (${oidOf(children(children(spkiNode, 'spki')[0]!, 'algorithm')[0]!)})`,
    spki,
    signatureAlgorithmOid: oidOf(sequence(sigAlg, 'signatureAlgorithm')[0]!),
    signatureAlgorithm: '',
    unknownCriticalExtensions: [],
    tbs: toDer(tbsNode),
    signature: bitStringBytes(sigValue),
  };
  out.signatureAlgorithm = signatureAlgorithmName(out.signatureAlgorithmOid);
  for (const ext of extensions) applyExtension(out, ext);
  return out;
}

function applyExtension(out: DecodedCertificate, ext: Extension): void {
  switch (ext.id) {
    case EXT.basicConstraints: {
      const [ca] = children(ext.value, 'basicConstraints');
      out.isCA = ca !== undefined && isUniversal(ca, TYPE.BOOLEAN) && bytesOf(ca)[0] !== 0;
      return;
    }
    case EXT.keyUsage: {
      const bits = bytesOf(ext.value).subarray(1);
      out.keyUsage = KEY_USAGE_NAMES.filter((name) => {
        const bit = KEY_USAGE_BITS[name];
        return ((bits[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0;
      });
      return;
    }
    case EXT.extKeyUsage:
      out.extKeyUsage = children(ext.value, 'extKeyUsage').map((n) => EKU_NAMES[oidOf(n)] ?? oidOf(n));
      return;
    case EXT.subjectAltName:
      for (const name of children(ext.value, 'subjectAltName')) {
        if (isContext(name, 2)) out.dnsNames.push(bytesOf(name).toString('latin1'));
        else if (isContext(name, 7)) out.ipAddresses.push(ipText(bytesOf(name)));
      }
      return;
    case EXT.subjectKeyIdentifier:
      out.subjectKeyId = bytesOf(ext.value);
      return;
    case EXT.authorityKeyIdentifier: {
      const keyId = children(ext.value, 'authorityKeyIdentifier').find((n) => isContext(n, 0));
      if (keyId) out.authorityKeyId = bytesOf(keyId);
      return;
    }
    default:
      if (ext.critical && !KNOWN_EXTENSIONS.has(ext.id)) out.unknownCriticalExtensions.push(ext.id);
  }
}

/** Every certificate in a PEM text (all `CERTIFICATE` blocks, in order) or one DER certificate. */
export function decodeCertificates(input: Buffer | string, what = 'input'): DecodedCertificate[] {
  if (looksLikePem(input)) return pemBlocksOf(input, ['CERTIFICATE'], what).map((b) => decodeCertificateDer(b.der));
  if (typeof input === 'string') throw new TctlError(`${what} is neither a PEM nor a DER certificate`);
  return [decodeCertificateDer(input)];
}
