// Revocations recorded in the data dir (revoked.jsonl), the source of the KRL.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Certificate } from '../ssh/certificate.js';
import { fingerprint } from '../ssh/keys.js';
import { appendLines, readLinesSync } from './files.js';
import type { TlsCa } from '../x509/types.js';
import { CA_TYPES } from './state.js';
import type { CaType } from './state.js';

export const REVOCATIONS_FILE = 'revoked.jsonl';

/**
 * serial: one certificate, by serial and the CA key that signed it (serials are per CA in KRLs).
 * key-id: every certificate with this key id from the user or the host CA (any of its keys, so it
 *   survives a rotation). Records written before revocations named a CA have no caType and keep
 *   meaning what they meant then: both CAs.
 * key: a public key (and so every certificate for it), by the SHA-256 of its blob.
 * x509-serial: one X.509 certificate, by its hex serial and the pin of the TLS CA key that signed
 *   it; listed in that key's CRL (auth crl), never in a KRL.
 */
export type RevocationRecord =
  | { kind: 'serial'; serial: string; caFingerprint: string; revokedAt: string; reason?: string }
  | { kind: 'key-id'; keyId: string; caType?: CaType; revokedAt: string; reason?: string }
  | { kind: 'key'; keySha256: string; keyFingerprint: string; revokedAt: string; reason?: string }
  | { kind: 'x509-serial'; serial: string; ca: TlsCa; caFingerprint: string; revokedAt: string; reason?: string };

export function keySha256(blob: Buffer): string {
  return createHash('sha256').update(blob).digest('base64');
}

export function readRevocations(dataDir: string): RevocationRecord[] {
  const file = path.join(dataDir, REVOCATIONS_FILE);
  // Streamed (readLinesSync caps each line), so the list may grow without a whole-file cap.
  if (!fs.existsSync(file)) return [];
  const out: RevocationRecord[] = [];
  for (const line of readLinesSync(file)) {
    const r = parseRevocationLine(line);
    if (r !== undefined) out.push(r);
  }
  return out;
}

/** One line of revoked.jsonl; undefined for a line that holds no record. */
export function parseRevocationLine(line: string): RevocationRecord | undefined {
  if (line === '') return undefined;
  try {
    const r = JSON.parse(line) as RevocationRecord;
    // A CA type this version does not know can only be a damaged line: revoke for both rather than neither.
    if (r.kind === 'key-id' && r.caType !== undefined && !(CA_TYPES as readonly string[]).includes(r.caType)) delete r.caType;
    return r;
  } catch {
    // a torn append from a killed process: that revocation was never reported as done
    return undefined;
  }
}

/** What identifies a revocation, so revoking twice records it once. */
export function revocationKey(r: RevocationRecord): string {
  switch (r.kind) {
    case 'serial':
      return `serial:${r.caFingerprint}:${r.serial}`;
    case 'key-id':
      return keyIdKey(r.keyId, r.caType);
    case 'key':
      return `key:${r.keySha256}`;
    case 'x509-serial':
      return `x509-serial:${r.caFingerprint}:${r.serial}`;
  }
}

// JSON keeps a key id that contains ":" from colliding with another CA type's entry.
const keyIdKey = (keyId: string, caType: CaType | undefined): string => `key-id:${JSON.stringify([caType ?? 'both', keyId])}`;

/** Appends the records not already present; returns those added. Call under the lock. */
export function addRevocations(dataDir: string, records: RevocationRecord[]): RevocationRecord[] {
  const seen = new Set(readRevocations(dataDir).map(revocationKey));
  const fresh = records.filter((r) => {
    const k = revocationKey(r);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  appendLines(
    path.join(dataDir, REVOCATIONS_FILE),
    fresh.map((r) => JSON.stringify(r)),
  );
  return fresh;
}

/** Indexes revocations for fast lookups (ls, inspect, and signing, which refuses what is revoked). */
export class RevocationIndex {
  private readonly byKey = new Map<string, RevocationRecord>();
  private readonly keyFingerprints = new Map<string, RevocationRecord>();
  constructor(records: RevocationRecord[]) {
    for (const r of records) {
      const k = revocationKey(r);
      if (!this.byKey.has(k)) this.byKey.set(k, r);
      if (r.kind === 'key' && !this.keyFingerprints.has(r.keyFingerprint)) this.keyFingerprints.set(r.keyFingerprint, r);
    }
  }

  /** By the SHA256:... fingerprint the issuance log records for each certified key. */
  isKeyFingerprintRevoked(fp: string): boolean {
    return this.keyFingerprints.has(fp);
  }

  serialRevocation(serial: string, caFingerprint: string): RevocationRecord | undefined {
    return this.byKey.get(`serial:${caFingerprint}:${serial}`);
  }

  isSerialRevoked(serial: string, caFingerprint: string): boolean {
    return this.serialRevocation(serial, caFingerprint) !== undefined;
  }

  /** The record revoking this key id for certificates of this CA: its own, or an old one for both CAs. */
  keyIdRevocation(keyId: string, caType: CaType): RevocationRecord | undefined {
    return this.byKey.get(keyIdKey(keyId, caType)) ?? this.byKey.get(keyIdKey(keyId, undefined));
  }

  isKeyIdRevoked(keyId: string, caType: CaType): boolean {
    return this.keyIdRevocation(keyId, caType) !== undefined;
  }

  /** An X.509 certificate by its lowercase hex serial and its CA key's pin. */
  x509SerialRevocation(serialHex: string, caPin: string): RevocationRecord | undefined {
    return this.byKey.get(`x509-serial:${caPin}:${serialHex}`);
  }

  keyRevocation(blob: Buffer): RevocationRecord | undefined {
    return this.byKey.get(`key:${keySha256(blob)}`);
  }

  isKeyRevoked(blob: Buffer): boolean {
    return this.keyRevocation(blob) !== undefined;
  }

  isCertificateRevoked(cert: Certificate): boolean {
    return (
      this.isSerialRevoked(cert.serial.toString(), fingerprint(cert.signatureKey)) || this.isKeyIdRevoked(cert.keyId, cert.type) || this.isKeyRevoked(cert.key.blob)
    );
  }

  /** Records that build the same index (the first of each kind and key): how a signing thread gets it. */
  records(): RevocationRecord[] {
    return [...this.byKey.values()];
  }
}
