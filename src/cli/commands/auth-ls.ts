import { UsageError, oneOf } from '../../errors.js';
import { CERT_TYPES } from '../../ssh/certificate.js';
import { readIssuance } from '../../store/issuance.js';
import type { IssuanceRecord } from '../../store/issuance.js';
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

/** Revoked wins over expired: a revoked cert stays revoked after it expires. */
export function certStatus(r: IssuanceRecord, index: RevocationIndex, now: Date): CertStatus {
  if (index.isSerialRevoked(r.serial, r.caFingerprint) || index.isKeyIdRevoked(r.keyId, r.type) || index.isKeyFingerprintRevoked(r.publicKeyFingerprint)) {
    return 'revoked';
  }
  if (r.validBefore !== 'forever' && Date.parse(r.validBefore) <= now.getTime()) return 'expired';
  return 'valid';
}

export async function authLs(opts: LsOptions): Promise<void> {
  const type = opts.type === undefined ? undefined : oneOf('--type', opts.type, CERT_TYPES);
  if (opts.principal === '') throw new UsageError('--principal is empty');
  const wanted = (['valid', 'expired', 'revoked'] as const).filter((s) => opts[s]);
  if (wanted.length > 1) throw new UsageError('give only one of --valid, --expired, --revoked');
  const { dataDir } = await resolveContext(opts);
  loadState(dataDir);
  const index = new RevocationIndex(readRevocations(dataDir));
  const now = new Date();
  const rows: Array<IssuanceRecord & { status: CertStatus }> = [];
  for (const r of readIssuance(dataDir)) {
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
