// The certificate authority over a data dir: create the CA keys, pick the signing and trusted
// keys from the rotation table, and issue certificates with serials and a log entry each.
import { createPrivateKey, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TctlError } from '../errors.js';
import { PHASE_TABLE } from '../rotation/phases.js';
import type { Phase } from '../rotation/phases.js';
import { keyFilesDropped, moveToPhase, recoveryPhases, repairStandby, rotateNow, scheduledAdvance } from '../rotation/rotate.js';
import { FOREVER, signCertificate } from '../ssh/certificate.js';
import { fingerprint, generatePrivateKey, sshPublicKey, sshSigner } from '../ssh/keys.js';
import type { KeyType, SshSigner } from '../ssh/keys.js';
import { appendAudit, audited } from '../store/audit.js';
import { MAX_DATA_FILE_BYTES, ensurePrivateDir, fileError, fsyncDir, readFileCapped, writeFileAtomic } from '../store/files.js';
import { allocateSerials, appendIssuance, initSerialCounter } from '../store/issuance.js';
import type { IssuanceRecord } from '../store/issuance.js';
import { withLock } from '../store/lock.js';
import { CA_TYPES, KEYS_DIR, TLS_ONLY_CAS, isInitialised, loadState, saveState, scheduleDamageError, statePath } from '../store/state.js';
import type { AuthorityOf, AuthorityRecord, CaKeyRecord, CaType, KeyRecordBase, LoadOptions, State, TlsAuthorityRecord, TlsKeyRecord } from '../store/state.js';
import { TLS_CAS } from '../x509/types.js';
import type { TlsCa, X509KeyType } from '../x509/types.js';
import { certificateBody, checkRequest } from './request.js';
import { checkNotRevoked, revocationIndex } from './revocation.js';
import type { CertificateRequest } from './request.js';

export type Clock = () => Date;
export const systemClock: Clock = () => new Date();

/** Creates a new CA key, writes its private half (0600) and returns its record. */
export function createCaKey(dataDir: string, caType: CaType, keyType: KeyType, now: Date): CaKeyRecord {
  const key = generatePrivateKey(keyType);
  const pub = sshPublicKey(key);
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const file = path.join(KEYS_DIR, `${caType}-ca-${stamp}-${fingerprint(pub.blob).slice(7, 15).replace(/[/+]/g, '_')}.pem`);
  const pem = key.export({ type: 'pkcs8', format: 'pem' }) as string;
  writeFileAtomic(path.join(dataDir, file), pem, { mode: 0o600, overwrite: false });
  return { keyType, publicKey: pub.blob.toString('base64'), fingerprint: fingerprint(pub.blob), file, createdAt: now.toISOString() };
}

/**
 * Creates a TLS CA key and its self-signed CA certificate, writing the private key (0600) before
 * any state names it. Implemented in tls-keys.ts, which the CLI loads only on paths that need it,
 * so SSH commands never load the X.509 code.
 */
export type TlsKeyMaker = (dataDir: string, clusterName: string, ca: TlsCa, keyType: X509KeyType, now: Date) => TlsKeyRecord;

/** What `auth init` makes of the TLS CAs: which key type each gets, and the code that makes them. */
export interface TlsInit {
  keyTypes: Record<TlsCa, X509KeyType>;
  makeKey: TlsKeyMaker;
}

export interface InitResult {
  state: State;
  /** false when the data dir existed and only TLS CAs were added */
  created: boolean;
  /** the TLS CAs this call created */
  addedTls: TlsCa[];
}

function alreadyInitialised(dataDir: string): TctlError {
  return new TctlError(`data dir ${dataDir} is already initialised`, {
    hint: 'each data dir holds one cluster; use another --data-dir for a new one',
  });
}

export function initAuthority(dataDir: string, opts: { clusterName: string; keyType: KeyType; now: Date; tls?: TlsInit }): State {
  return initOrComplete(dataDir, opts).state;
}

/**
 * A new data dir gets every CA. One initialised before TLS support gets exactly the TLS CAs it
 * lacks (host and user in the phase of their SSH CA, with a next key when it is rotating) and
 * nothing else changes; one that has everything is refused as before.
 */
export function initOrComplete(dataDir: string, opts: { clusterName: string; keyType: KeyType; now: Date; tls?: TlsInit }): InitResult {
  ensurePrivateDir(dataDir);
  return withLock(dataDir, () => {
    if (isInitialised(dataDir)) {
      if (!opts.tls) throw alreadyInitialised(dataDir);
      return completeTls(dataDir, opts.clusterName, opts.tls, opts.now);
    }
    ensurePrivateDir(path.join(dataDir, KEYS_DIR));
    const authorities = {} as Record<CaType, AuthorityRecord>;
    for (const t of CA_TYPES) {
      authorities[t] = { current: createCaKey(dataDir, t, opts.keyType, opts.now), retired: [], rotation: { phase: 'standby' } };
    }
    if (!fs.existsSync(path.join(dataDir, 'serial'))) initSerialCounter(dataDir);
    const state: State = { version: 1, clusterName: opts.clusterName, createdAt: opts.now.toISOString(), authorities };
    if (opts.tls) {
      const tls: Partial<Record<TlsCa, TlsAuthorityRecord>> = {};
      for (const t of TLS_CAS) tls[t] = { current: opts.tls.makeKey(dataDir, opts.clusterName, t, opts.tls.keyTypes[t], opts.now), retired: [], rotation: { phase: 'standby' } };
      state.tls = tls;
    }
    // state.json is written last: it is what makes the data dir "initialised".
    saveState(dataDir, state);
    return audited(dataDir, 'auth init', () => ({
      result: { state, created: true, addedTls: state.tls ? [...TLS_CAS] : [] },
      what: {
        clusterName: state.clusterName,
        userCa: authorities.user.current.fingerprint,
        hostCa: authorities.host.current.fingerprint,
        ...(state.tls ? { tls: Object.fromEntries(TLS_CAS.map((t) => [t, state.tls![t]!.current.fingerprint])) } : {}),
      },
    }));
  });
}

function completeTls(dataDir: string, clusterName: string, tlsInit: TlsInit, now: Date): InitResult {
  const state = loadState(dataDir);
  const missing = TLS_CAS.filter((t) => !state.tls?.[t]);
  if (missing.length === 0) throw alreadyInitialised(dataDir);
  if (clusterName !== state.clusterName) {
    throw new TctlError(`data dir ${dataDir} holds cluster "${state.clusterName}", not "${clusterName}"`, {
      hint: `run "tctl auth init --cluster-name=${state.clusterName}" to add the TLS certificate authorities to it`,
    });
  }
  return audited(dataDir, 'auth init', () => {
    ensurePrivateDir(path.join(dataDir, KEYS_DIR));
    const tls = { ...state.tls };
    for (const t of missing) {
      const make = () => tlsInit.makeKey(dataDir, state.clusterName, t, tlsInit.keyTypes[t], now);
      // loadState refused a damaged schedule, so the SSH rotation copied here is a clean one.
      const ssh = t === 'host' || t === 'user' ? state.authorities[t] : undefined;
      const record: TlsAuthorityRecord = { current: make(), retired: [], rotation: ssh ? { ...ssh.rotation } : { phase: 'standby' } };
      if (ssh?.next) record.next = make();
      tls[t] = record;
    }
    const updated: State = { ...state, tls };
    saveState(dataDir, updated);
    return {
      result: { state: updated, created: false, addedTls: missing },
      what: { clusterName: state.clusterName, addedTls: Object.fromEntries(missing.map((t) => [t, tls[t]!.current.fingerprint])) },
    };
  });
}

/** Loads a CA private key and checks it is the key state.json says it is. */
export function loadCaKey(dataDir: string, record: CaKeyRecord): KeyObject {
  const file = path.join(dataDir, record.file);
  let pem: string;
  try {
    pem = readFileCapped(file, MAX_DATA_FILE_BYTES).toString('utf8');
  } catch (err) {
    throw fileError('cannot read CA key', file, err);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new TctlError(`CA key ${file} is damaged: not a readable private key`, { hint: 'restore the data dir from a backup' });
  }
  if (fingerprint(sshPublicKey(key).blob) !== record.fingerprint) {
    throw new TctlError(`CA key ${file} does not match ${statePath(dataDir)} (expected ${record.fingerprint})`, {
      hint: 'restore the data dir from a backup',
    });
  }
  return key;
}

/**
 * Checks that every trusted CA key of these types still has a readable private key that matches
 * its record, so nothing is exported from a data dir that could no longer sign.
 */
export function checkTrustedKeys(dataDir: string, state: State, types: readonly CaType[] = CA_TYPES): void {
  for (const t of types) for (const record of trustedKeyRecords(state.authorities[t])) loadCaKey(dataDir, record);
}

/** The key that signs new certificates of this type in the current rotation phase. */
export function signingKeyRecord<K>(auth: AuthorityOf<K>): K {
  return auth[PHASE_TABLE[auth.rotation.phase].signer]!;
}

/** The keys OpenSSH must trust for this CA type now (what exports list), signer first. */
export function trustedKeyRecords<K>(auth: AuthorityOf<K>): K[] {
  return PHASE_TABLE[auth.rotation.phase].trusted.map((slot) => auth[slot]).filter((k): k is K => k !== undefined);
}

export interface IssuedCertificate {
  request: CertificateRequest;
  certificate: Buffer;
  record: IssuanceRecord;
}

/** Signs checked requests one at a time inside one lock, one CA-key load and one serial reservation. */
export interface SigningSession {
  sign(request: CertificateRequest): IssuedCertificate;
  /** Appends the issuance records of everything signed since the last flush (before files are handed out). */
  flush(): void;
}

const isoTime = (seconds: bigint): string => (seconds === FOREVER ? 'forever' : new Date(Number(seconds) * 1000).toISOString());

/**
 * Runs fn with a signing session for up to count certificates. The serials are reserved up
 * front and the log is appended per flush, so cost does not grow with the size of the history.
 * fn is where the caller hands out what it signed (writes the files): if it throws, the audit
 * entry says "error", with the reason and the certificates already in the issuance log.
 */
export function withSigningSession<T>(
  dataDir: string,
  plan: { count: number; types: CaType[] },
  fn: (session: SigningSession) => T,
  clock: Clock = systemClock,
): T {
  const count = plan.count;
  // A session that signs nothing would spend no serial but still audit an "ok" signing.
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`signing session: bad count ${count}`);
  return withLock(dataDir, () => {
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
      const state = observeSchedules(dataDir, loadState(dataDir), now);
      const revoked = revocationIndex(dataDir);
      const keys = new Map<CaType, { record: CaKeyRecord; signer: SshSigner }>();
      const signerFor = (t: CaType) => {
        let s = keys.get(t);
        if (!s) {
          const record = signingKeyRecord(state.authorities[t]);
          s = { record, signer: sshSigner(loadCaKey(dataDir, record)) };
          keys.set(t, s);
        }
        return s;
      };
      // Load (and so check) the CA keys before a serial is spent.
      for (const t of plan.types) signerFor(t);
      const firstSerial = allocateSerials(dataDir, count);
      first = firstSerial;
      let serial = firstSerial;
      let pending: IssuanceRecord[] = [];
      // One randomBytes call per 1024 nonces: per-call overhead is a third of an ed25519 signature.
      let pool = Buffer.alloc(0);
      const nonce = () => {
        if (pool.length < 32) pool = randomBytes(32 * 1024);
        const n = pool.subarray(0, 32);
        pool = pool.subarray(32);
        return n;
      };
      const session: SigningSession = {
        sign(request) {
          if (serial >= firstSerial + BigInt(count)) throw new Error('signing session: more certificates than reserved serials');
          const signer = signerFor(request.type);
          checkNotRevoked(revoked, request, { serial, caFingerprint: signer.record.fingerprint });
          const body = certificateBody(request, { clusterName: state.clusterName, serial: serial++, now, nonce: nonce() });
          const certificate = signCertificate(body, signer.signer);
          const record: IssuanceRecord = {
            serial: body.serial.toString(),
            keyId: body.keyId,
            type: body.type,
            principals: body.principals,
            validAfter: isoTime(body.validAfter),
            validBefore: isoTime(body.validBefore),
            caFingerprint: signer.record.fingerprint,
            publicKeyFingerprint: fingerprint(request.publicKey.blob),
            issuedAt: now.toISOString(),
          };
          pending.push(record);
          if (audit.length < 100) audit.push(record);
          return { request, certificate, record };
        },
        flush() {
          appendIssuance(dataDir, pending);
          logged += pending.length;
          pending = [];
        },
      };
      result = fn(session);
      session.flush();
    } catch (err) {
      if (fs.existsSync(statePath(dataDir))) {
        appendAudit(dataDir, { command: 'auth sign', what: what(), result: 'error', error: (err as Error).message });
      }
      throw err;
    }
    appendAudit(dataDir, { command: 'auth sign', what: what(), result: 'ok' });
    return result;
  });
}

/**
 * Signs a few requests (checked first). deliver writes the files: it runs after the issuance log
 * is appended and inside the audited session, so a delivery that fails is audited as one.
 */
export function issueCertificates(
  dataDir: string,
  requests: CertificateRequest[],
  opts: { deliver?: (issued: IssuedCertificate[]) => void; clock?: Clock } = {},
): IssuedCertificate[] {
  const checked = requests.map(checkRequest);
  const types = [...new Set(checked.map((r) => r.type))];
  return withSigningSession(dataDir, { count: checked.length, types }, (session) => {
    const issued = checked.map((r) => session.sign(r));
    session.flush();
    opts.deliver?.(issued);
    return issued;
  }, opts.clock);
}

/** A private key file a state change stopped naming, and whether it is gone now. */
export interface RemovedKeyFile {
  fingerprint: string;
  file: string;
  removed: boolean;
  error?: string;
}

/**
 * Saves `after`, then removes the private key files `before` named and `after` does not (keys
 * a rotation step retired). This order means a crash in between leaves an orphan file in keys/,
 * never a state.json naming a key file that is gone. unlink is all that is done: overwriting
 * first gives no guarantee on journalled or copy-on-write file systems and SSDs, and claiming
 * it did would be a log that says more than happened. Call under the lock.
 */
function saveRetiring(dataDir: string, before: State, after: State): Removed {
  saveState(dataDir, after);
  const out: Removed = { ssh: { user: [], host: [] }, tls: { host: [], user: [], db: [], db_client: [] } };
  const remove = (list: RemovedKeyFile[], dropped: Array<{ fingerprint: string; file: string }>) => {
    for (const k of dropped) {
      try {
        fs.unlinkSync(path.join(dataDir, k.file));
        list.push({ ...k, removed: true });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') list.push({ ...k, removed: true });
        else list.push({ ...k, removed: false, error: fileError('cannot remove', k.file, err).message });
      }
    }
  };
  for (const t of CA_TYPES) remove(out.ssh[t], keyFilesDropped(before.authorities[t], after.authorities[t]));
  for (const t of TLS_CAS) {
    const b = before.tls?.[t];
    const a = after.tls?.[t];
    if (b && a) remove(out.tls[t], keyFilesDropped(b, a));
  }
  if ([...Object.values(out.ssh), ...Object.values(out.tls)].some((l) => l.length > 0)) fsyncDir(path.join(dataDir, KEYS_DIR));
  return out;
}

interface Removed {
  ssh: Record<CaType, RemovedKeyFile[]>;
  tls: Record<TlsCa, RemovedKeyFile[]>;
}

/** What a rotation command or step names: an SSH CA (host and user carry their TLS CA along) or a TLS-only CA. */
export type RotatingCa = CaType | (typeof TLS_ONLY_CAS)[number];
export const ROTATING_CAS: readonly RotatingCa[] = [...CA_TYPES, ...TLS_ONLY_CAS];

const isSshCa = (t: RotatingCa): t is CaType => (CA_TYPES as readonly string[]).includes(t);

/** The fingerprints a rotation audit entry names for one record, and the key files the step removed. */
function keysWhat<K extends KeyRecordBase>(a: AuthorityOf<K>, removed: RemovedKeyFile[] | undefined) {
  return {
    signer: signingKeyRecord(a).fingerprint,
    trusted: trustedKeyRecords(a).map((k) => k.fingerprint),
    ...(removed && removed.length > 0 ? { removedKeyFiles: removed } : {}),
  };
}

/**
 * The audit fields of a rotation step: the SSH keys (host, user) or the TLS keys (db, db_client);
 * a host or user CA's TLS keys go under "tls", so the SSH fields read as they always have.
 */
function rotationWhat(state: State, t: RotatingCa, removed: Removed | undefined) {
  if (!isSshCa(t)) return keysWhat(state.tls![t]!, removed?.tls[t]);
  const tls = state.tls?.[t];
  return { ...keysWhat(state.authorities[t], removed?.ssh[t]), ...(tls ? { tls: keysWhat(tls, removed?.tls[t]) } : {}) };
}

type TypedStep = { type: RotatingCa; from: Phase; to: Phase; at: Date };

/**
 * Applies due auto-rotation transitions; saves them when any happened, removes the key files
 * they retired, and appends one audit entry per step (what the clock changed, from and to).
 * Call under the lock.
 */
export function observeSchedules(dataDir: string, state: State, now: Date): State {
  const { state: advanced, steps, afters } = advanceAll(state, now);
  if (steps.length === 0) return state;
  const removed = saveRetiring(dataDir, state, advanced);
  for (const [i, s] of steps.entries()) {
    const lastOfType = !steps.slice(i + 1).some((o) => o.type === s.type);
    appendAudit(dataDir, {
      command: 'auth rotate',
      result: 'ok',
      what: {
        type: s.type,
        from: s.from,
        to: s.to,
        mode: 'auto',
        by: 'schedule',
        dueAt: s.at.toISOString(),
        ...rotationWhat(afters[i]!, s.type, lastOfType ? removed : undefined),
      },
    });
  }
  return advanced;
}

/**
 * Every due step of every CA. host and user TLS records share their SSH CA's rotation fields,
 * so the same schedule gives them the same steps at the same times: one step moves both.
 */
function advanceAll(state: State, now: Date): { state: State; steps: TypedStep[]; afters: State[] } {
  const steps: TypedStep[] = [];
  const afters: State[] = [];
  let cur = state;
  for (const t of ROTATING_CAS) {
    if (isSshCa(t)) {
      const a = scheduledAdvance(state.authorities[t], now);
      const tlsRecord = state.tls?.[t];
      const tlsSteps = tlsRecord ? scheduledAdvance(tlsRecord, now).steps : [];
      a.steps.forEach((s, i) => {
        cur = { ...cur, authorities: { ...cur.authorities, [t]: s.after } };
        const ts = tlsSteps[i];
        if (ts) cur = { ...cur, tls: { ...cur.tls, [t]: ts.after } };
        steps.push({ type: t, from: s.from, to: s.to, at: s.at });
        afters.push(cur);
      });
    } else {
      const record = state.tls?.[t];
      if (!record) continue;
      for (const s of scheduledAdvance(record, now).steps) {
        cur = { ...cur, tls: { ...cur.tls, [t]: s.after } };
        steps.push({ type: t, from: s.from, to: s.to, at: s.at });
        afters.push(cur);
      }
    }
  }
  return { state: cur, steps, afters };
}

/**
 * The state as the clock says it is now. Read-only commands call this; a due auto-rotation
 * step is persisted (and audited) when the data dir is writable, and is computed the same way
 * when it is not.
 */
export function loadCurrentState(dataDir: string, clock: Clock = systemClock, opts: LoadOptions = {}): State {
  const state = loadState(dataDir, opts);
  const now = clock();
  if (advanceAll(state, now).steps.length === 0) return state;
  try {
    return withLock(dataDir, () => observeSchedules(dataDir, loadState(dataDir, opts), now));
  } catch (err) {
    if (err instanceof TctlError && /permission denied|read-only/.test(err.message)) return advanceAll(state, now).state;
    throw err;
  }
}

export type RotateAction =
  | { kind: 'auto'; gracePeriodSeconds: number; keyType?: KeyType; tlsKeyType?: X509KeyType }
  | { kind: 'manual'; phase: Phase; keyType?: KeyType; tlsKeyType?: X509KeyType; gracePeriodSeconds?: number };

/** One rotation step applied to one record; newKey is called only when the step brings in a key. */
function applyRotation<K extends KeyRecordBase>(auth: AuthorityOf<K>, action: RotateAction, now: Date, newKey: () => K, recovering: boolean, caName: string): AuthorityOf<K> {
  if (action.kind === 'auto') {
    if (auth.rotation.phase !== 'standby') {
      throw new TctlError(`the ${caName} CA is already rotating (phase "${auth.rotation.phase}")`, {
        hint: `advance it with "tctl auth rotate --type=${caName} --manual --phase=..." or check "tctl status"`,
      });
    }
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
export function rotateAuthority(dataDir: string, caType: RotatingCa, action: RotateAction, clock: Clock = systemClock, makeTlsKey?: TlsKeyMaker): State {
  return withLock(dataDir, () => audited(dataDir, 'auth rotate', () => {
    const now = clock();
    const state = observeSchedules(dataDir, loadState(dataDir, { allowDamagedSchedule: true }), now);
    const tlsRecord = state.tls?.[caType];
    if (!isSshCa(caType) && !tlsRecord) throw noTlsAuthorities();
    const rotation = isSshCa(caType) ? state.authorities[caType].rotation : tlsRecord!.rotation;
    const damage = rotation.damage;
    // With a damaged schedule only the steps that end this CA's rotation run (see state.ts checkRotation).
    const recovering = damage !== undefined && action.kind === 'manual' && recoveryPhases(rotation.phase).includes(action.phase);
    const refusal = scheduleDamageError(dataDir, state);
    if (refusal && !recovering) throw refusal;
    const updated: State = { ...state };
    if (isSshCa(caType)) {
      const auth = state.authorities[caType];
      // The new key file is written before state.json names it: a crash leaves an unused file, never a missing key.
      const next = applyRotation(auth, action, now, () => createCaKey(dataDir, caType, action.keyType ?? auth.current.keyType, now), recovering, caType);
      updated.authorities = { ...state.authorities, [caType]: next };
    }
    if (tlsRecord) {
      const newTlsKey = () => {
        if (!makeTlsKey) throw new Error('rotateAuthority: a TLS key is needed but no key maker was given');
        return makeTlsKey(dataDir, state.clusterName, caType as TlsCa, action.tlsKeyType ?? tlsRecord.current.keyType, now);
      };
      updated.tls = { ...state.tls, [caType]: applyRotation(tlsRecord, action, now, newTlsKey, recovering, caType) };
    }
    const removed = saveRetiring(dataDir, state, updated);
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

/** What every TLS command says on a data dir initialised before TLS support. */
export function noTlsAuthorities(): TctlError {
  return new TctlError('this data dir has no TLS certificate authorities (initialised before TLS support)', {
    hint: 'run "tctl auth init" once to add them; SSH keys and certificates are not changed',
  });
}

/** The TLS CA record, or the error that says how to add the TLS CAs. */
export function tlsAuthority(state: State, ca: TlsCa): TlsAuthorityRecord {
  const a = state.tls?.[ca];
  if (!a) throw noTlsAuthorities();
  return a;
}
