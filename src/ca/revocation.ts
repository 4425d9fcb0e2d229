// Revoking certificates and keys, and the KRL (OpenSSH PROTOCOL.krl) that carries the
// revocations to sshd's RevokedKeys.
import { TctlError, UsageError } from '../errors.js';
import { encodeKrl } from '../ssh/krl.js';
import type { KrlCertificateSection } from '../ssh/krl.js';
import type { Certificate } from '../ssh/certificate.js';
import { fingerprint } from '../ssh/keys.js';
import type { SshPublicKey } from '../ssh/keys.js';
import { audited } from '../store/audit.js';
import { isX509Record, readIssuance } from '../store/issuance.js';
import type { IssuanceRecord, X509IssuanceRecord } from '../store/issuance.js';
import type { TlsCa } from '../x509/types.js';
import { RevocationIndex, keySha256 } from '../store/revocations.js';
import type { RevocationRecord } from '../store/revocations.js';
import { scannedFromRecords } from '../store/revocation-scan.js';
import type { ScannedRevocations } from '../store/revocation-scan.js';
import { CA_TYPES, loadState } from '../store/state.js';
import type { CaType, RetiredKeyRecord, State } from '../store/state.js';
import type { Clock } from './authority.js';
import { systemClock } from './authority.js';
import type { CaStore } from '../store/ca-store.js';

export type RevokeTarget =
  | { by: 'serial'; serial: bigint }
  /** --serial as typed: a decimal SSH serial, a hex X.509 serial, or text that could be either */
  | { by: 'any-serial'; text: string; ssh?: bigint; x509?: string }
  /** an X.509 certificate file already matched to the TLS CA key that signed it */
  | { by: 'x509-cert'; serial: string; ca: TlsCa; caFingerprint: string }
  | { by: 'key-id'; keyId: string; caType?: CaType }
  | { by: 'cert'; cert: Certificate; file: string }
  | { by: 'public-key'; key: SshPublicKey };

/** Every CA key this CA has ever had, of both types: current, incoming and retired. */
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

/** What revoke() did: the record, whether it is new, and whether a key id was revoked before any certificate had it. */
export interface RevokeResult {
  record: RevocationRecord;
  added: boolean;
  neverIssued?: boolean;
}

/**
 * A key id names certificates of one CA. Without --type it is the CA the issuance log shows it
 * under; a key id seen under both, or under neither, needs --type.
 */
function keyIdCaType(store: CaStore, keyId: string, given: CaType | undefined): { caType: CaType; neverIssued: boolean } {
  const seen = new Set<CaType>();
  for (const r of readIssuance(store)) if (r.keyId === keyId) seen.add(r.type);
  if (given !== undefined) return { caType: given, neverIssued: !seen.has(given) };
  if (seen.size === 1) return { caType: [...seen][0]!, neverIssued: false };
  if (seen.size === 0) {
    throw new TctlError(`no certificate with key id "${keyId}" is in this CA's issuance log`, {
      hint: 'list issued certificates with "tctl auth ls"; to refuse the key id before it is ever issued, give --type=user or --type=host',
    });
  }
  throw new UsageError(`key id "${keyId}" was issued by both the user and the host CA; say which with --type=user or --type=host`);
}

function resolve(store: CaStore, state: State, target: RevokeTarget, now: Date, reason?: string): { record: RevocationRecord; neverIssued?: boolean } {
  const revokedAt = now.toISOString();
  const base = reason === undefined ? { revokedAt } : { revokedAt, reason };
  switch (target.by) {
    case 'serial': {
      const wanted = target.serial.toString();
      for (const r of readIssuance(store)) {
        if (r.serial === wanted) return { record: { kind: 'serial', serial: wanted, caFingerprint: r.caFingerprint, ...base } };
      }
      throw new TctlError(`serial ${wanted} is not in this CA's issuance log`, { hint: 'list issued certificates with "tctl auth ls"' });
    }
    case 'key-id': {
      const { caType, neverIssued } = keyIdCaType(store, target.keyId, target.caType);
      return { record: { kind: 'key-id', keyId: target.keyId, caType, ...base }, neverIssued };
    }
    case 'cert': {
      const ca = fingerprint(target.cert.signatureKey);
      // Recording the serial of a foreign cert would revoke whichever of our certs shares it.
      if (!allCaKeys(state).some((k) => k.fingerprint === ca)) {
        throw new TctlError(`${target.file} was not signed by any CA key of this cluster (signed by ${ca})`);
      }
      if (target.cert.serial === 0n) {
        throw new TctlError(`${target.file} has serial 0, which a KRL cannot revoke by serial`, { hint: 'revoke it with --key-id or --public-key' });
      }
      return { record: { kind: 'serial', serial: target.cert.serial.toString(), caFingerprint: ca, ...base } };
    }
    case 'public-key':
      return { record: { kind: 'key', keySha256: keySha256(target.key.blob), keyFingerprint: fingerprint(target.key.blob), ...base } };
    case 'any-serial':
      return { record: resolveSerial(store, target, base) };
    case 'x509-cert':
      return { record: { kind: 'x509-serial', serial: target.serial, ca: target.ca, caFingerprint: target.caFingerprint, ...base } };
  }
}

/**
 * A serial as typed: SSH serials are decimal (from the counter), X.509 ones hex (random). Text
 * that reads both ways and matches a certificate of each kind is refused rather than guessed.
 */
function resolveSerial(store: CaStore, target: { text: string; ssh?: bigint; x509?: string }, base: { revokedAt: string; reason?: string }): RevocationRecord {
  const sshWanted = target.ssh?.toString();
  let ssh: IssuanceRecord | undefined;
  let x509: X509IssuanceRecord | undefined;
  for (const r of store.issuance()) {
    if (isX509Record(r)) {
      if (target.x509 !== undefined && r.serial === target.x509) x509 ??= r;
    } else if (sshWanted !== undefined && r.serial === sshWanted) {
      ssh ??= r;
    }
  }
  if (ssh && x509) {
    throw new UsageError(`serial "${target.text}" names both SSH certificate ${sshWanted} and TLS certificate ${x509.serial}`, `write 0x${x509.serial} for the TLS certificate, or revoke the SSH certificate with --cert=FILE`);
  }
  if (ssh) return { kind: 'serial', serial: sshWanted!, caFingerprint: ssh.caFingerprint, ...base };
  if (x509) return { kind: 'x509-serial', serial: x509.serial, ca: x509.ca, caFingerprint: x509.caFingerprint, ...base };
  throw new TctlError(`serial ${sshWanted ?? target.x509} is not in this CA's issuance log`, { hint: 'list issued certificates with "tctl auth ls"' });
}

/**
 * --serial: a decimal SSH serial (1 to 2^64-1) or a hex X.509 serial as openssl and "tctl auth ls"
 * print it (upper or lower case, optional 0x, optional colons; 16 to 40 hex digits: tctl's are 128
 * random bits). 0x or colons mean hex only.
 */
export function parseAnySerial(text: string): { text: string; ssh?: bigint; x509?: string } {
  const explicitHex = /^0x/i.test(text) || text.includes(':');
  const ssh = !explicitHex && /^\d{1,20}$/.test(text) && BigInt(text) > 0n && BigInt(text) <= 0xffffffffffffffffn ? BigInt(text) : undefined;
  const digits = text.replace(/^0x/i, '').replace(/:/g, '');
  const hexOk = /^[0-9a-fA-F]{16,40}$/.test(digits) && BigInt('0x' + digits) > 0n;
  const x509 = hexOk ? BigInt('0x' + digits).toString(16) : undefined;
  if (ssh === undefined && x509 === undefined) {
    if (/^\d{1,20}$/.test(text)) throw new UsageError(`invalid --serial "${text}": must be between 1 and 2^64-1`);
    throw new UsageError(`invalid --serial "${text}"`, 'give the decimal serial of an SSH certificate or the hex serial of a TLS certificate, as "tctl auth ls" or ssh-keygen -L / openssl x509 -serial show them');
  }
  return { text, ssh, x509 };
}

/** Records a revocation under the lock; revoking what is already revoked (also by an older, wider record) records nothing. */
export function revoke(store: CaStore, target: RevokeTarget, opts: { reason?: string; clock?: Clock } = {}): RevokeResult {
  const now = (opts.clock ?? systemClock)();
  return store.withLock(() =>
    audited(store, 'auth revoke', () => {
      const state = loadState(store);
      const { record, neverIssued } = resolve(store, state, target, now, opts.reason);
      const covered = record.kind === 'key-id' && new RevocationIndex(store.readRevocations()).isKeyIdRevoked(record.keyId, record.caType!);
      const added = !covered && store.addRevocations([record]).length === 1;
      const result: RevokeResult = neverIssued ? { record, added, neverIssued } : { record, added };
      return { result, what: { ...record, added } };
    }),
  );
}

/**
 * The KRL for every revocation: serials under the CA key that signed them, key ids under every
 * key their CA has had (so they survive a rotation), revoked keys by SHA-256.
 */
export function buildKrl(state: State, revocations: RevocationRecord[] | ScannedRevocations, now: Date): Buffer {
  const { serials: scannedSerials, serialCount, records } = Array.isArray(revocations) ? scannedFromRecords(revocations) : revocations;
  const keyIds = new Map<CaType | 'both', string[]>();
  const serials = new Map<unknown, string[]>();
  const keys: Buffer[] = [];
  let version = serialCount;
  for (const r of records) {
    // TLS revocations go to CRLs (auth crl), never to the KRL: they do not count here either.
    if (r.kind !== 'x509-serial') version++;
    if (r.kind === 'key-id') {
      const scope = r.caType ?? 'both';
      let list = keyIds.get(scope);
      if (list === undefined) keyIds.set(scope, (list = []));
      list.push(r.keyId);
    } else if (r.kind === 'serial') {
      let list = serials.get(r.caFingerprint);
      if (list === undefined) serials.set(r.caFingerprint, (list = []));
      list.push(r.serial);
    } else if (r.kind === 'key') {
      keys.push(Buffer.from(r.keySha256, 'base64'));
    }
  }
  const idsFor = (caType: CaType) => [...(keyIds.get('both') ?? []), ...(keyIds.get(caType) ?? [])];

  const all = allCaKeys(state);
  const sections: KrlCertificateSection[] = [];
  const seen = new Set<string>();
  for (const k of all) {
    if (seen.has(k.fingerprint)) continue;
    seen.add(k.fingerprint);
    // A key shared by both CAs (an imported setup) carries the key ids of both.
    const ids = [...new Set(all.filter((o) => o.fingerprint === k.fingerprint).flatMap((o) => idsFor(o.caType)))];
    const caKey = Buffer.from(k.publicKey, 'base64');
    const scanned = scannedSerials.get(k.fingerprint);
    const parsed = (serials.get(k.fingerprint) ?? []).map((serial) => BigInt(serial));
    if ((scanned?.length ?? 0) === 0 && parsed.length === 0 && ids.length === 0) continue;
    // encodeKrl merges sections of one CA key.
    if (scanned !== undefined) sections.push({ caKey, serials: scanned, keyIds: [] });
    sections.push({ caKey, serials: parsed, keyIds: ids });
  }
  return encodeKrl({
    version: BigInt(version),
    generatedAt: BigInt(Math.floor(now.getTime() / 1000)),
    comment: `tctl ${state.clusterName}`,
    certificates: sections,
    revokedKeySha256: keys,
  });
}

function revokedWhen(r: RevocationRecord): string {
  return `revoked ${r.revokedAt}${r.reason === undefined ? '' : `, reason ${JSON.stringify(r.reason)}`}`;
}

/** What a new certificate would be: enough to tell whether any revocation already covers it. */
export interface PlannedCertificate {
  type: CaType;
  keyId: string;
  publicKey: SshPublicKey;
}

/**
 * Refuses to sign a certificate that the KRL would already revoke: by its key id (for its CA),
 * by its public key, or (when known) by its serial under the signing key.
 */
export function checkNotRevoked(index: RevocationIndex, cert: PlannedCertificate, issued?: { serial: bigint; caFingerprint: string }): void {
  const byKeyId = index.keyIdRevocation(cert.keyId, cert.type);
  if (byKeyId) {
    const scope = byKeyId.kind === 'key-id' && byKeyId.caType === undefined ? 'for both CAs' : `for the ${cert.type} CA`;
    throw new TctlError(`key id "${cert.keyId}" is revoked ${scope} (${revokedWhen(byKeyId)}); a certificate for it would be revoked already`, {
      hint:
        cert.type === 'user'
          ? `sign under another key id with the same logins, e.g. --user=${cert.keyId}-2 --principals=${cert.keyId}`
          : 'put another of the host\'s names first in --host (the first name is the key id)',
    });
  }
  const byKey = index.keyRevocation(cert.publicKey.blob);
  if (byKey) {
    throw new TctlError(`public key ${fingerprint(cert.publicKey.blob)} is revoked (${revokedWhen(byKey)}); a certificate for it would be revoked already`, {
      hint: 'generate a new key pair and sign its public key',
    });
  }
  const bySerial = issued && index.serialRevocation(issued.serial.toString(), issued.caFingerprint);
  if (bySerial) {
    throw new TctlError(`serial ${issued!.serial} of CA ${issued!.caFingerprint} is already revoked (${revokedWhen(bySerial)}): the serial counter is behind the revocation list`, {
      hint: 'the CA was probably restored from an old backup; restore the newest one',
    });
  }
}

/** The revocations of the CA, read once for a whole signing. */
export function revocationIndex(store: CaStore): RevocationIndex {
  return new RevocationIndex(store.readRevocations());
}
