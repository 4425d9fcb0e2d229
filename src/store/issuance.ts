// The serial counter and the issuance log. Both are O(1) per certificate: the counter is one
// small file and the log is append-only, so signing cost does not grow with history.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TctlError } from '../errors.js';
import type { CertType } from '../ssh/certificate.js';
import type { TlsCa } from '../x509/types.js';
import { appendLines, fileError, readFileCapped, readLinesSync, writeFileAtomic } from './files.js';
import { SERIAL_FILE } from './state.js';
import type { CaStore } from './ca-store.js';

export const ISSUANCE_LOG = 'issued.jsonl';
const MAX_SERIAL = 0xffffffffffffffffn;

/**
 * One line of issued.jsonl. Times are ISO 8601; validBefore is "forever" for certs that never
 * expire. SSH records have no "format"; X.509 records say "x509", name their TLS CA, and their
 * serial is lowercase hex (random, not from the counter).
 */
export type IssuanceLine = IssuanceRecord | X509IssuanceRecord;

export interface X509IssuanceRecord {
  serial: string;
  format: 'x509';
  ca: TlsCa;
  /** the certificate profile: tls-user, tls-host, db-server, db-client, cockroachdb-node */
  type: string;
  /** the subject CN */
  keyId: string;
  /** the SANs (DNS names, then IPs), or the CN of a user certificate */
  principals: string[];
  validAfter: string;
  validBefore: string;
  /** the CA's pin (sha256:<hex of its SPKI>) */
  caFingerprint: string;
  /** sha256:<hex of the certified key's SPKI> */
  publicKeyFingerprint: string;
  issuedAt: string;
}

export function isX509Record(r: IssuanceLine): r is X509IssuanceRecord {
  return (r as X509IssuanceRecord).format === 'x509';
}

export interface IssuanceRecord {
  serial: string;
  format?: undefined;
  keyId: string;
  type: CertType;
  principals: string[];
  validAfter: string;
  validBefore: string;
  caFingerprint: string;
  publicKeyFingerprint: string;
  issuedAt: string;
}

export function initSerialCounter(dataDir: string): void {
  writeFileAtomic(path.join(dataDir, SERIAL_FILE), '0\n', { mode: 0o600, overwrite: false });
}

/**
 * Reserves count consecutive serials and returns the first. Call under the data dir lock. The
 * counter is persisted before any certificate exists, so a crash can skip serials but never
 * reuse one.
 */
export function allocateSerials(dataDir: string, count: number): bigint {
  const file = path.join(dataDir, SERIAL_FILE);
  let text: string;
  try {
    text = readFileCapped(file, 64).toString('utf8');
  } catch (err) {
    throw fileError('cannot read serial counter', file, err);
  }
  if (!/^\d{1,20}\n?$/.test(text)) {
    throw new TctlError(`${file} is damaged: not a serial number`, { hint: 'restore the CA from a backup' });
  }
  const last = BigInt(text.trim());
  const first = last + 1n;
  const end = last + BigInt(count);
  if (end > MAX_SERIAL) throw new TctlError('serial numbers exhausted');
  writeFileAtomic(file, `${end}\n`, { mode: 0o600, overwrite: true });
  return first;
}

export function appendIssuance(dataDir: string, records: IssuanceLine[]): void {
  appendLines(
    path.join(dataDir, ISSUANCE_LOG),
    records.map((r) => JSON.stringify(r)),
  );
}

/** Reads the SSH records of the log (X.509 ones are skipped: their serials and types mean other things). */
export function* readIssuance(store: CaStore): Generator<IssuanceRecord> {
  for (const r of store.issuance()) if (!isX509Record(r)) yield r;
}

/** Reads every record of the log, SSH and X.509, skipping a torn line left by a process killed mid-append. */
export function* readIssuanceLines(dataDir: string): Generator<IssuanceLine> {
  const file = path.join(dataDir, ISSUANCE_LOG);
  // Streamed (readLinesSync caps each line): the log grows with every certificate.
  if (!fs.existsSync(file)) return;
  for (const line of readLinesSync(file)) {
    if (line === '') continue;
    try {
      yield JSON.parse(line) as IssuanceLine;
    } catch {
      // a torn append; the cert it described was never handed out
    }
  }
}
