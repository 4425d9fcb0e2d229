// One checked request signed with one serial: the certificate and its issuance record. The signing
// session (authority.ts) and the batch threads (batch-threads.ts) both sign through this, so a
// certificate and its log entry are made the same way whichever thread makes them.
import { randomBytes } from 'node:crypto';
import { FOREVER, signCertificate } from '../ssh/certificate.js';
import { fingerprint } from '../ssh/keys.js';
import type { SshSigner } from '../ssh/keys.js';
import type { IssuanceRecord } from '../store/issuance.js';
import type { RevocationIndex } from '../store/revocations.js';
import type { CaKeyRecord } from '../store/state.js';
import { certificateBody } from './request.js';
import type { CertificateRequest } from './request.js';
import { checkNotRevoked } from './revocation.js';

export interface SigningContext {
  clusterName: string;
  now: Date;
  revoked: RevocationIndex;
  /** 32 fresh random bytes a call */
  nonce: () => Buffer;
}

/** Nonces for a run of certificates: one randomBytes call per 1024, whose per-call overhead is a third of an ed25519 signature. */
export function noncePool(): () => Buffer {
  let pool = Buffer.alloc(0);
  return () => {
    if (pool.length < 32) pool = randomBytes(32 * 1024);
    const n = pool.subarray(0, 32);
    pool = pool.subarray(32);
    return n;
  };
}

const isoTime = (seconds: bigint): string => (seconds === FOREVER ? 'forever' : new Date(Number(seconds) * 1000).toISOString());

export function signRequest(request: CertificateRequest, serial: bigint, ca: { record: CaKeyRecord; signer: SshSigner }, ctx: SigningContext): { certificate: Buffer; record: IssuanceRecord } {
  checkNotRevoked(ctx.revoked, request, { serial, caFingerprint: ca.record.fingerprint });
  const body = certificateBody(request, { clusterName: ctx.clusterName, serial, now: ctx.now, nonce: ctx.nonce() });
  const certificate = signCertificate(body, ca.signer);
  const record: IssuanceRecord = {
    serial: body.serial.toString(),
    keyId: body.keyId,
    type: body.type,
    principals: body.principals,
    validAfter: isoTime(body.validAfter),
    validBefore: isoTime(body.validBefore),
    caFingerprint: ca.record.fingerprint,
    publicKeyFingerprint: fingerprint(request.publicKey.blob),
    issuedAt: ctx.now.toISOString(),
  };
  return { certificate, record };
}
