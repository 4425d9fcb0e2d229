// Revoking certificates and keys, and the KRL (OpenSSH PROTOCOL.krl) that carries the
// revocations to sshd's RevokedKeys.
import { TctlError, UsageError } from '../errors.js';
import { encodeKrl } from '../ssh/krl.js';
import type { KrlCertificateSection } from '../ssh/krl.js';
import type { Certificate } from '../ssh/certificate.js';
import { fingerprint } from '../ssh/keys.js';
import type { SshPublicKey } from '../ssh/keys.js';
import { audited } from '../store/audit.js';
import { readIssuance } from '../store/issuance.js';
import { withLock } from '../store/lock.js';
import { addRevocations, keySha256 } from '../store/revocations.js';
import type { RevocationRecord } from '../store/revocations.js';
import { CA_TYPES, loadState } from '../store/state.js';
import type { CaType, RetiredKeyRecord, State } from '../store/state.js';
import type { Clock } from './authority.js';
import { systemClock } from './authority.js';

export type RevokeTarget =
  | { by: 'serial'; serial: bigint }
  | { by: 'key-id'; keyId: string }
  | { by: 'cert'; cert: Certificate; file: string }
  | { by: 'public-key'; key: SshPublicKey };

/** Every CA key this data dir has ever had, of both types: current, incoming and retired. */
export function allCaKeys(state: State): Array<RetiredKeyRecord & { caType: CaType; status: 'current' | 'next' | 'retired' }> {
  return CA_TYPES.flatMap((caType) => {
    const a = state.authorities[caType];
    return [
      { ...a.current, caType, status: 'current' as const },
      ...(a.next ? [{ ...a.next, caType, status: 'next' as const }] : []),
      ...a.retired.map((k) => ({ ...k, caType, status: 'retired' as const })),
    ];
  });
}

function resolve(dataDir: string, state: State, target: RevokeTarget, now: Date, reason?: string): RevocationRecord {
  const revokedAt = now.toISOString();
  const base = reason === undefined ? { revokedAt } : { revokedAt, reason };
  switch (target.by) {
    case 'serial': {
      const wanted = target.serial.toString();
      for (const r of readIssuance(dataDir)) {
        if (r.serial === wanted) return { kind: 'serial', serial: wanted, caFingerprint: r.caFingerprint, ...base };
      }
      throw new TctlError(`serial ${wanted} is not in this CA's issuance log`, { hint: 'list issued certificates with "tctl auth ls"' });
    }
    case 'key-id': {
      for (const r of readIssuance(dataDir)) {
        if (r.keyId === target.keyId) return { kind: 'key-id', keyId: target.keyId, ...base };
      }
      throw new TctlError(`no certificate with key id "${target.keyId}" is in this CA's issuance log`, { hint: 'list issued certificates with "tctl auth ls"' });
    }
    case 'cert': {
      const ca = fingerprint(target.cert.signatureKey);
      // Recording the serial of a foreign cert would revoke whichever of our certs shares it.
      if (!allCaKeys(state).some((k) => k.fingerprint === ca)) {
        throw new TctlError(`${target.file} was not signed by any CA key of this data dir (signed by ${ca})`);
      }
      if (target.cert.serial === 0n) {
        throw new TctlError(`${target.file} has serial 0, which a KRL cannot revoke by serial`, { hint: 'revoke it with --key-id or --public-key' });
      }
      return { kind: 'serial', serial: target.cert.serial.toString(), caFingerprint: ca, ...base };
    }
    case 'public-key':
      return { kind: 'key', keySha256: keySha256(target.key.blob), keyFingerprint: fingerprint(target.key.blob), ...base };
  }
}

/** Records a revocation under the lock; revoking the same thing twice records it once. */
export function revoke(dataDir: string, target: RevokeTarget, opts: { reason?: string; clock?: Clock } = {}): { record: RevocationRecord; added: boolean } {
  const now = (opts.clock ?? systemClock)();
  return withLock(dataDir, () =>
    audited(dataDir, 'auth revoke', () => {
      const state = loadState(dataDir);
      const record = resolve(dataDir, state, target, now, opts.reason);
      const added = addRevocations(dataDir, [record]).length === 1;
      return { result: { record, added }, what: { ...record, added } };
    }),
  );
}

/**
 * The KRL for every revocation: serials under the CA key that signed them, key ids under every
 * CA key we have had (so they survive a rotation), revoked keys by SHA-256.
 */
export function buildKrl(state: State, revocations: RevocationRecord[], now: Date): Buffer {
  const keys = allCaKeys(state);
  const keyIds = revocations.filter((r) => r.kind === 'key-id').map((r) => r.keyId);
  const sections: KrlCertificateSection[] = [];
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k.fingerprint)) continue;
    seen.add(k.fingerprint);
    const serials = revocations.filter((r) => r.kind === 'serial' && r.caFingerprint === k.fingerprint).map((r) => BigInt((r as { serial: string }).serial));
    if (serials.length === 0 && keyIds.length === 0) continue;
    sections.push({ caKey: Buffer.from(k.publicKey, 'base64'), serials, keyIds });
  }
  return encodeKrl({
    version: BigInt(revocations.length),
    generatedAt: BigInt(Math.floor(now.getTime() / 1000)),
    comment: `tctl ${state.clusterName}`,
    certificates: sections,
    revokedKeySha256: revocations.filter((r) => r.kind === 'key').map((r) => Buffer.from(r.keySha256, 'base64')),
  });
}

export function parseSerial(text: string): bigint {
  if (!/^\d{1,20}$/.test(text)) throw new UsageError(`invalid --serial "${text}"`, 'give the decimal serial shown by "tctl auth ls" or ssh-keygen -L');
  const n = BigInt(text);
  if (n === 0n || n > 0xffffffffffffffffn) throw new UsageError(`invalid --serial "${text}": must be between 1 and 2^64-1`);
  return n;
}
