import { UsageError, oneOf } from '../../errors.js';
import { CERT_TYPES } from '../../ssh/certificate.js';
import type { IssuanceLine } from '../../store/issuance.js';
import { LEAF_PROFILES } from '../../x509/types.js';
import { RevocationIndex } from '../../store/revocations.js';
import { loadCurrentState } from '../../ca/authority.js';
import { certStatus, trustedFingerprints } from '../../ca/inventory.js';
import type { CertStatus } from '../../ca/inventory.js';
import type { GlobalOptions } from '../context.js';
import { resolveContext } from '../context.js';
import { stdout } from '../output.js';

export interface LsOptions extends GlobalOptions {
  type?: string;
  principal?: string;
  valid?: boolean;
  expired?: boolean;
  revoked?: boolean;
  untrusted?: boolean;
  json?: boolean;
}

/** Every type "auth ls" shows: SSH user and host, and the X.509 profiles. */
export const LS_TYPES = [...CERT_TYPES, ...LEAF_PROFILES] as const;

export async function authLs(opts: LsOptions): Promise<void> {
  const type = opts.type === undefined ? undefined : oneOf('--type', opts.type, LS_TYPES);
  if (opts.principal === '') throw new UsageError('--principal is empty');
  const wanted = (['valid', 'expired', 'revoked', 'untrusted'] as const).filter((s) => opts[s]).map((s): CertStatus => (s === 'untrusted' ? 'untrusted-ca' : s));
  if (wanted.length > 1) throw new UsageError('give only one of --valid, --expired, --revoked, --untrusted');
  const { store } = await resolveContext(opts);
  const now = new Date();
  // After a rotation, certificates of a retired key fail at every server and client that has
  // the new export: they are listed as such, not as valid.
  const trusted = trustedFingerprints(loadCurrentState(store, () => now));
  const index = new RevocationIndex(store.readRevocations());
  const rows: Array<IssuanceLine & { status: CertStatus }> = [];
  for (const r of store.issuance()) {
    if (type !== undefined && r.type !== type) continue;
    if (opts.principal !== undefined && !r.principals.includes(opts.principal)) continue;
    const status = certStatus(r, index, now, trusted(r));
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
