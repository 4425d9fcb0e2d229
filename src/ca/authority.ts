// The certificate authority over its store (a data dir or PostgreSQL): sign SSH certificates with serials and a log entry
// each, advance rotations (SSH and TLS keys) by the clock or by the operator, and retire keys.
import { TctlError } from '../errors.js';
import type { Phase } from '../rotation/phases.js';
import { moveToPhase, recoveryPhases, repairStandby, rotateNow } from '../rotation/rotate.js';
import { toSshSigner } from '../keys/adapters.js';
import type { SshCaSigner } from '../keys/adapters.js';
import type { KeyObject } from 'node:crypto';
import type { RevocationIndex } from '../store/revocations.js';
import type { KeyType, SshSigner } from '../ssh/keys.js';
import { audited, recordFailure } from '../store/audit.js';
import type { IssuanceRecord } from '../store/issuance.js';
import { loadState, scheduleDamageError } from '../store/state.js';
import type { AuthorityOf, CaKeyRecord, CaType, KeyRecordBase, State, TlsAuthorityRecord, TlsKeyRecord } from '../store/state.js';
import type { TlsCa, X509KeyType } from '../x509/types.js';
import { checkRequest } from './request.js';
import { revocationIndex } from './revocation.js';
import type { CertificateRequest } from './request.js';
import { noncePool, signRequest } from './sign-request.js';

export { checkTrustedKeys, createCaKey, loadCaKey, signingKeyRecord, trustedKeyRecords } from './ca-keys.js';
import { createCaKey, loadCaKey, signingKeyRecord, sshFingerprintOf } from './ca-keys.js';
import { isSshCa, observeSchedules, rotationWhat, saveRetiring } from './schedule.js';
import type { Clock, RotatingCa } from './schedule.js';
import { systemClock } from './schedule.js';
export { ROTATING_CAS, loadCurrentState, observeSchedules, systemClock } from './schedule.js';
export type { Clock, RemovedKeyFile, RotatingCa } from './schedule.js';
import { type KeyStorage, storageLike, tlsFingerprintOf } from './key-access.js';
import type { CaStore } from '../store/ca-store.js';


/**
 * Creates a TLS CA key and its self-signed CA certificate, writing the private key (0600) before
 * any state names it. Implemented in tls-keys.ts, which the CLI loads only on paths that need it,
 * so SSH commands never load the X.509 code.
 */
export type TlsKeyMaker = (store: CaStore, clusterName: string, ca: TlsCa, keyType: X509KeyType, now: Date, storage: KeyStorage) => TlsKeyRecord;

export interface IssuedCertificate {
  request: CertificateRequest;
  certificate: Buffer;
  record: IssuanceRecord;
}

/**
 * What signing threads need to sign a session's certificates as sign() does (ca/batch-threads.ts):
 * everything in memory, so they read nothing (keys, revocations) from wherever the CA keeps it.
 */
export interface SigningHandOff {
  clusterName: string;
  now: Date;
  /** The serial of the next certificate; adopt() takes records from it on, in order. */
  nextSerial: bigint;
  /** The revocations sign() checks against, read under the session's lock. */
  revoked: RevocationIndex;
  /** The signing key of each CA type the session planned. */
  keys: Partial<Record<CaType, { record: CaKeyRecord; privateKey: KeyObject }>>;
  /** Takes the records of certificates signed elsewhere, in serial order, as if sign() had made them. */
  adopt(records: IssuanceRecord[]): void;
}

/** Signs checked requests one at a time inside one lock, one CA-key load and one serial reservation. */
export interface SigningSession {
  sign(request: CertificateRequest): IssuedCertificate;
  /**
   * Signing on other threads: what they need, or undefined when a planned CA key has no private
   * key in this process (a PKCS#11 token signs here only).
   */
  handOff(): SigningHandOff | undefined;
  /** Appends the issuance records of everything signed since the last flush (before files are handed out). */
  flush(): void;
}


/**
 * Runs fn with a signing session for up to count certificates. The serials are reserved up
 * front and the log is appended per flush, so cost does not grow with the size of the history.
 * fn is where the caller hands out what it signed (writes the files): if it throws, the audit
 * entry says "error", with the reason and the certificates already in the issuance log.
 */
export function withSigningSession<T>(
  store: CaStore,
  plan: { count: number; types: CaType[] },
  fn: (session: SigningSession) => T,
  clock: Clock = systemClock,
): T {
  const count = plan.count;
  // A session that signs nothing would spend no serial but still audit an "ok" signing.
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`signing session: bad count ${count}`);
  return store.withLock(() => {
    let first: bigint | undefined;
    let logged = 0;
    const audit: IssuanceRecord[] = [];
    // The audit line lists every certificate of a small signing and the serial range of a large one.
    const what = (): Record<string, unknown> =>
      first === undefined || logged === 0
        ? {}
        : logged <= 100
          ? { certificates: audit.slice(0, logged).map((r) => ({ serial: r.serial, keyId: r.keyId, type: r.type, caFingerprint: r.caFingerprint })) }
          : { count: logged, firstSerial: first.toString(), lastSerial: (first + BigInt(logged) - 1n).toString() };
    let result: T;
    try {
      const now = clock();
      const state = observeSchedules(store, loadState(store), now);
      const revoked = revocationIndex(store);
      const keys = new Map<CaType, { record: CaKeyRecord; signer: SshSigner }>();
      const signerFor = (t: CaType) => {
        let s = keys.get(t);
        if (!s) {
          const record = signingKeyRecord(state.authorities[t]);
          s = { record, signer: toSshSigner(loadCaKey(store, record)) };
          keys.set(t, s);
        }
        return s;
      };
      // Load (and so check) the CA keys before a serial is spent.
      for (const t of plan.types) signerFor(t);
      const firstSerial = store.reserveSerials(count);
      first = firstSerial;
      let serial = firstSerial;
      let pending: IssuanceRecord[] = [];
      const ctx = { clusterName: state.clusterName, now, revoked, nonce: noncePool() };
      const session: SigningSession = {
        sign(request) {
          if (serial >= firstSerial + BigInt(count)) throw new Error('signing session: more certificates than reserved serials');
          const { certificate, record } = signRequest(request, serial++, signerFor(request.type), ctx);
          pending.push(record);
          if (audit.length < 100) audit.push(record);
          return { request, certificate, record };
        },
        handOff() {
          const handed: SigningHandOff['keys'] = {};
          for (const [t, s] of keys) {
            const privateKey = (s.signer as SshCaSigner).key;
            if (!privateKey) return undefined;
            handed[t] = { record: s.record, privateKey };
          }
          const end = firstSerial + BigInt(count);
          return {
            clusterName: state.clusterName,
            now,
            nextSerial: serial,
            revoked,
            keys: handed,
            adopt(records) {
              for (const record of records) {
                // Reserved serials are used once each, in order, whichever thread signed.
                if (serial >= end || record.serial !== serial.toString()) throw new Error(`signing session: adopted serial ${record.serial}, expected ${serial}`);
                if (keys.get(record.type)?.record.fingerprint !== record.caFingerprint) throw new Error('signing session: adopted a certificate of another CA key');
                serial++;
                pending.push(record);
                if (audit.length < 100) audit.push(record);
              }
            },
          };
        },
        flush() {
          store.appendIssuance(pending);
          // On record before the caller hands any of these certificates out.
          store.checkpoint();
          logged += pending.length;
          pending = [];
        },
      };
      result = fn(session);
      session.flush();
    } catch (err) {
      recordFailure(store, { command: 'auth sign', what: what(), result: 'error', error: (err as Error).message });
      throw err;
    }
    store.appendAudit({ command: 'auth sign', what: what(), result: 'ok' });
    return result;
  });
}

/**
 * Signs a few requests (checked first). deliver writes the files: it runs after the issuance log
 * is appended and inside the audited session, so a delivery that fails is audited as one.
 */
export function issueCertificates(
  store: CaStore,
  requests: CertificateRequest[],
  opts: { deliver?: (issued: IssuedCertificate[]) => void; clock?: Clock } = {},
): IssuedCertificate[] {
  const checked = requests.map(checkRequest);
  const types = [...new Set(checked.map((r) => r.type))];
  return withSigningSession(store, { count: checked.length, types }, (session) => {
    const issued = checked.map((r) => session.sign(r));
    session.flush();
    opts.deliver?.(issued);
    return issued;
  }, opts.clock);
}

export type RotateAction =
  | { kind: 'auto'; gracePeriodSeconds: number; keyType?: KeyType; tlsKeyType?: X509KeyType }
  | { kind: 'manual'; phase: Phase; keyType?: KeyType; tlsKeyType?: X509KeyType; gracePeriodSeconds?: number };

/** One rotation step applied to one record; newKey is called only when the step brings in a key. */
function applyRotation<K extends KeyRecordBase>(auth: AuthorityOf<K>, action: RotateAction, now: Date, newKey: () => K, recovering: boolean, caName: string): AuthorityOf<K> {
  // Starting a rotation, by the clock or by hand, while one runs is Teleport's "another is in
  // progress", whichever form it takes: two operators who both start one at once hear the same.
  if ((action.kind === 'auto' || action.phase === 'init') && auth.rotation.phase !== 'standby') {
    throw new TctlError(`cannot start a rotation of the ${caName} CA while another is in progress (phase "${auth.rotation.phase}")`, {
      hint: `advance it with "tctl auth rotate --type=${caName} --manual --phase=..." or check "tctl status"`,
    });
  }
  if (action.kind === 'auto') {
    return action.gracePeriodSeconds === 0
      ? rotateNow(auth, { now, newKey })
      : moveToPhase(auth, 'init', { now, newKey, mode: 'auto', gracePeriodSeconds: action.gracePeriodSeconds });
  }
  if (recovering && auth.rotation.phase === 'standby') return repairStandby(auth);
  return moveToPhase(auth, action.phase, { now, newKey, mode: 'manual', gracePeriodSeconds: action.gracePeriodSeconds });
}

/**
 * Starts or advances a rotation of one CA, under the lock; returns the new state. host and user
 * move their SSH and TLS keys together (same step, same clock); db and db_client are TLS only.
 * makeTlsKey is needed when the step creates a TLS key.
 */
export function rotateAuthority(store: CaStore, caType: RotatingCa, action: RotateAction, clock: Clock = systemClock, makeTlsKey?: TlsKeyMaker): State {
  return store.withLock(() => audited(store, 'auth rotate', () => {
    const now = clock();
    const state = observeSchedules(store, loadState(store, { allowDamagedSchedule: true }), now);
    const tlsRecord = state.tls?.[caType];
    if (!isSshCa(caType) && !tlsRecord) throw noTlsAuthorities();
    const rotation = isSshCa(caType) ? state.authorities[caType].rotation : tlsRecord!.rotation;
    const damage = rotation.damage;
    // With a damaged schedule only the steps that end this CA's rotation run (see state.ts checkRotation).
    const recovering = damage !== undefined && action.kind === 'manual' && recoveryPhases(rotation.phase).includes(action.phase);
    const refusal = scheduleDamageError(store, state);
    if (refusal && !recovering) throw refusal;
    const updated: State = { ...state };
    if (isSshCa(caType)) {
      const auth = state.authorities[caType];
      // The new key file is written before state.json names it: a crash leaves an unused file, never a missing key.
      // A new key is kept where the key it replaces is (file, encrypted file, token).
      const newKey = () => {
        const storage = storageLike(store, auth.current, sshFingerprintOf);
        return createCaKey(store, caType, action.keyType ?? auth.current.keyType, now, { storage, clusterName: state.clusterName });
      };
      const next = applyRotation(auth, action, now, newKey, recovering, caType);
      updated.authorities = { ...state.authorities, [caType]: next };
    }
    if (tlsRecord) {
      const newTlsKey = () => {
        if (!makeTlsKey) throw new Error('rotateAuthority: a TLS key is needed but no key maker was given');
        const storage = storageLike(store, tlsRecord.current, tlsFingerprintOf);
        return makeTlsKey(store, state.clusterName, caType as TlsCa, action.tlsKeyType ?? tlsRecord.current.keyType, now, storage);
      };
      updated.tls = { ...state.tls, [caType]: applyRotation(tlsRecord, action, now, newTlsKey, recovering, caType) };
    }
    const removed = saveRetiring(store, state, updated);
    return {
      result: updated,
      what: {
        type: caType,
        from: rotation.phase,
        to: (isSshCa(caType) ? updated.authorities[caType] : updated.tls![caType]!).rotation.phase,
        mode: action.kind,
        by: 'operator',
        ...rotationWhat(updated, caType, removed),
        ...(damage ? { damagedSchedule: damage.problems } : {}),
      },
    };
  }));
}

/** What every TLS command says on a CA initialised before TLS support. */
export function noTlsAuthorities(): TctlError {
  return new TctlError('this cluster has no TLS certificate authorities (initialised before TLS support)', {
    hint: 'run "tctl auth init" once to add them; SSH keys and certificates are not changed',
  });
}

/** The TLS CA record, or the error that says how to add the TLS CAs. */
export function tlsAuthority(state: State, ca: TlsCa): TlsAuthorityRecord {
  const a = state.tls?.[ca];
  if (!a) throw noTlsAuthorities();
  return a;
}
