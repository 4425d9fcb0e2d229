import { UsageError, oneOf } from '../../errors.js';
import { CERT_TYPES } from '../../ssh/certificate.js';
import { isX509Record, readIssuanceLines } from '../../store/issuance.js';
import type { IssuanceLine } from '../../store/issuance.js';
import { LEAF_PROFILES } from '../../x509/types.js';
import { RevocationIndex, readRevocations } from '../../store/revocations.js';
import { loadState } from '../../store/state.js';
import type { GlobalOptions } from '../context.js';
import { resolveContext } from '../context.js';
import { stdout } from '../output.js';

export interface LsOptions extends GlobalOptions {
  type?: string;
  principal?: string;
  valid?: boolean;
  expired?: boolean;
  revoked?: boolean;
  json?: boolean;
}

export type CertStatus = 'valid' | 'expired' | 'revoked';

/** Every type "auth ls" shows: SSH user and host, and the X.509 profiles. */
export const LS_TYPES = [...CERT_TYPES, ...LEAF_PROFILES] as const;

/**
 * Revoked wins over expired: a revoked cert stays revoked after it expires. An X.509 certificate
 * is revoked by its serial only (what its CRL lists); key id and key revocations are SSH's.
 */
export function certStatus(r: IssuanceLine, index: RevocationIndex, now: Date): CertStatus {
  if (isX509Record(r)) {
    if (index.x509SerialRevocation(r.serial, r.caFingerprint)) return 'revoked';
  } else if (index.isSerialRevoked(r.serial, r.caFingerprint) || index.isKeyIdRevoked(r.keyId, r.type) || index.isKeyFingerprintRevoked(r.publicKeyFingerprint)) {
    return 'revoked';
  }
  if (r.validBefore !== 'forever' && Date.parse(r.validBefore) <= now.getTime()) return 'expired';
  return 'valid';
}

export async function authLs(opts: LsOptions): Promise<void> {
  const type = opts.type === undefined ? undefined : oneOf('--type', opts.type, LS_TYPES);
  if (opts.principal === '') throw new UsageError('--principal is empty');
  const wanted = (['valid', 'expired', 'revoked'] as const).filter((s) => opts[s]);
  if (wanted.length > 1) throw new UsageError('give only one of --valid, --expired, --revoked');
  const { dataDir } = await resolveContext(opts);
  loadState(dataDir);
  const index = new RevocationIndex(readRevocations(dataDir));
  const now = new Date();
  const rows: Array<IssuanceLine & { status: CertStatus }> = [];
  for (const r of readIssuanceLines(dataDir)) {
    if (type !== undefined && r.type !== type) continue;
    if (opts.principal !== undefined && !r.principals.includes(opts.principal)) continue;
    const status = certStatus(r, index, now);
    if (wanted.length === 1 && status !== wanted[0]) continue;
    rows.push({ ...r, status });
  }
  if (opts.json) {
    stdout(JSON.stringify(rows, null, 2));
    return;
  }
  const table = [['SERIAL', 'TYPE', 'KEY ID', 'PRINCIPALS', 'VALID UNTIL', 'STATUS'], ...rows.map((r) => [r.serial, r.type, r.keyId, r.principals.join(','), r.validBefore, r.status])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  stdout(table.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n'));
}
