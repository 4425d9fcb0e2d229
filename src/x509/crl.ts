// Certificate revocation lists (RFC 5280 §5): v2, signed by a CA through its X509Signer, with the
// authorityKeyIdentifier and cRLNumber extensions §5.2 says conforming CAs MUST include.
import { TctlError } from '../errors.js';
import { authorityKeyIdentifier, crlNumber } from './extensions.js';
import { bitsFromBytes, explicit, raw, seq, time, toDer, uint } from './forge.js';
import type { Issuer } from './certificate.js';
import { pemEncode } from './pem.js';
import { algorithmIdentifier } from './signer.js';

export interface RevokedCertificate {
  serial: bigint;
  revokedAt: Date;
}

export interface CrlRequest {
  thisUpdate: Date;
  nextUpdate: Date;
  /** monotonically increasing per CA (RFC 5280 §5.2.3); at most 20 octets */
  number: bigint;
  revoked: RevokedCertificate[];
}

/** A cap on entries: a CRL this large is ~40 MB, which no TLS server wants to load. */
export const MAX_CRL_ENTRIES = 1_000_000;
const MAX_SERIAL = (1n << 159n) - 1n;

export function createCrl(req: CrlRequest, issuer: Issuer): { der: Buffer; pem: string } {
  if (!(req.nextUpdate.getTime() > req.thisUpdate.getTime())) throw new TctlError('CRL nextUpdate must be after thisUpdate');
  if (req.number < 0n || req.number > MAX_SERIAL) throw new TctlError('CRL number out of range');
  if (req.revoked.length > MAX_CRL_ENTRIES) throw new TctlError(`too many revoked certificates for one CRL (at most ${MAX_CRL_ENTRIES})`);
  // Sorted and unique, so the same revocations always give the same CRL.
  const bySerial = new Map<bigint, RevokedCertificate>();
  for (const r of req.revoked) {
    if (r.serial <= 0n || r.serial > MAX_SERIAL) throw new TctlError(`cannot list serial ${r.serial.toString(16)} in a CRL: out of range`);
    const seen = bySerial.get(r.serial);
    if (!seen || r.revokedAt < seen.revokedAt) bySerial.set(r.serial, r);
  }
  const entries = [...bySerial.values()].sort((a, b) => (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0));
  const alg = algorithmIdentifier(issuer.signer.algorithm);
  const tbs = seq([
    uint(1n), // v2: required once extensions are present (§5.1.2.1)
    alg,
    raw(issuer.subjectDer),
    time(req.thisUpdate),
    time(req.nextUpdate),
    // An empty list is left out entirely, never written as an empty SEQUENCE (§5.1.2.6).
    ...(entries.length > 0 ? [seq(entries.map((e) => seq([uint(e.serial), time(e.revokedAt)])))] : []),
    explicit(0, seq([authorityKeyIdentifier(issuer.keyId), crlNumber(req.number)])),
  ]);
  const tbsDer = toDer(tbs);
  const der = toDer(seq([tbs, algorithmIdentifier(issuer.signer.algorithm), bitsFromBytes(issuer.signer.sign(tbsDer))]));
  return { der, pem: pemEncode('X509 CRL', der) };
}
