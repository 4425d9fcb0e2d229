// Revocations recorded in the data dir (revoked.jsonl), the source of the KRL.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Certificate } from '../ssh/certificate.js';
import { fingerprint } from '../ssh/keys.js';
import { appendLines, readLinesSync } from './files.js';

export const REVOCATIONS_FILE = 'revoked.jsonl';

/**
 * serial: one certificate, by serial and the CA key that signed it (serials are per CA in KRLs).
 * key-id: every certificate with this key id, from any of our CA keys.
 * key: a public key (and so every certificate for it), by the SHA-256 of its blob.
 */
export type RevocationRecord =
  | { kind: 'serial'; serial: string; caFingerprint: string; revokedAt: string; reason?: string }
  | { kind: 'key-id'; keyId: string; revokedAt: string; reason?: string }
  | { kind: 'key'; keySha256: string; keyFingerprint: string; revokedAt: string; reason?: string };

export function keySha256(blob: Buffer): string {
  return createHash('sha256').update(blob).digest('base64');
}

export function readRevocations(dataDir: string): RevocationRecord[] {
  const file = path.join(dataDir, REVOCATIONS_FILE);
  // Streamed (readLinesSync caps each line), so the list may grow without a whole-file cap.
  if (!fs.existsSync(file)) return [];
  const out: RevocationRecord[] = [];
  for (const line of readLinesSync(file)) {
    if (line === '') continue;
    try {
      out.push(JSON.parse(line) as RevocationRecord);
    } catch {
      // a torn append from a killed process: that revocation was never reported as done
    }
  }
  return out;
}

/** What identifies a revocation, so revoking twice records it once. */
export function revocationKey(r: RevocationRecord): string {
  switch (r.kind) {
    case 'serial':
      return `serial:${r.caFingerprint}:${r.serial}`;
    case 'key-id':
      return `key-id:${r.keyId}`;
    case 'key':
      return `key:${r.keySha256}`;
  }
}

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

/** Indexes revocations for fast lookups (ls, inspect). */
export class RevocationIndex {
  private readonly keys: Set<string>;
  private readonly keyFingerprints: Set<string>;
  constructor(records: RevocationRecord[]) {
    this.keys = new Set(records.map(revocationKey));
    this.keyFingerprints = new Set(records.flatMap((r) => (r.kind === 'key' ? [r.keyFingerprint] : [])));
  }

  /** By the SHA256:... fingerprint the issuance log records for each certified key. */
  isKeyFingerprintRevoked(fp: string): boolean {
    return this.keyFingerprints.has(fp);
  }

  isSerialRevoked(serial: string, caFingerprint: string): boolean {
    return this.keys.has(`serial:${caFingerprint}:${serial}`);
  }

  isKeyIdRevoked(keyId: string): boolean {
    return this.keys.has(`key-id:${keyId}`);
  }

  isKeyRevoked(blob: Buffer): boolean {
    return this.keys.has(`key:${keySha256(blob)}`);
  }

  isCertificateRevoked(cert: Certificate): boolean {
    return (
      this.isSerialRevoked(cert.serial.toString(), fingerprint(cert.signatureKey)) || this.isKeyIdRevoked(cert.keyId) || this.isKeyRevoked(cert.key.blob)
    );
  }
}

export function isCertificateRevoked(dataDir: string, cert: Certificate): boolean {
  return new RevocationIndex(readRevocations(dataDir)).isCertificateRevoked(cert);
}
