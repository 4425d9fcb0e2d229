// The CA's state document (cluster and CA key records; state.json in a data dir): its shape,
// checked by value when loaded, and how it is saved. Saved only under the store's lock.
import * as path from 'node:path';
import { TctlError } from '../errors.js';
import { KEY_TYPES, fingerprint, parsePublicKeyBlob } from '../ssh/keys.js';
import type { KeyType } from '../ssh/keys.js';
import { PHASES } from '../rotation/phases.js';
import type { Phase } from '../rotation/phases.js';
import { GRACE_CAP, recoveryPhases } from '../rotation/rotate.js';
import { TLS_CAS, X509_KEY_TYPES } from '../x509/types.js';
import type { TlsCa, X509KeyType } from '../x509/types.js';
import type { CaStore } from './ca-store.js';

export const STATE_VERSION = 1;
export const STATE_FILE = 'state.json';
export const SERIAL_FILE = 'serial';
export const KEYS_DIR = 'keys';

/** The two certificate authorities; each signs one kind of certificate. */
export const CA_TYPES = ['user', 'host'] as const;
export type CaType = (typeof CA_TYPES)[number];

/** A CA key in a PKCS#11 token: enough to find it again, nothing secret. */
export interface Pkcs11Ref {
  /** how the token was chosen: `token "label"` or `slot N` */
  token: string;
  /** CKA_ID (tctl writes printable ids) */
  id: string;
  /** CKA_LABEL */
  label: string;
}

/** Where a key record's private half is: a file in keys/ (maybe encrypted) or a token. */
export interface StoredKey {
  fingerprint: string;
  /** PKCS#8 PEM private key, relative to the data dir; absent for token keys and once retired */
  file?: string;
  /** the file is a passphrase-encrypted PKCS#8 PEM */
  encrypted?: true;
  /** the key is in a PKCS#11 token (then there is no file) */
  pkcs11?: Pkcs11Ref;
}

export interface CaKeyRecord extends StoredKey {
  keyType: KeyType;
  /** base64 SSH public-key blob */
  publicKey: string;
  fingerprint: string;
  createdAt: string;
}

/**
 * A key that is no longer trusted. Its private key file is removed when it is retired; records
 * retired by earlier releases still name one until the next rotation step removes it.
 */
export type Retired<K> = Omit<K, 'file'> & { file?: string };
export type RetiredKeyRecord = Retired<CaKeyRecord>;

/** What rotation needs of a key record, SSH or TLS. */
export interface KeyRecordBase {
  fingerprint: string;
  file?: string;
}

/** A TLS CA key: its self-signed CA certificate and private key file. */
export interface TlsKeyRecord extends StoredKey {
  keyType: X509KeyType;
  /** the CA certificate, PEM */
  certificate: string;
  /** "sha256:<hex>" of the SHA-256 of the SubjectPublicKeyInfo DER: Teleport's CA pin form */
  fingerprint: string;
  /** PKCS#8 PEM private key, relative to the data dir; absent once retired */
  file?: string;
  createdAt: string;
}

export interface RotationState {
  phase: Phase;
  mode?: 'auto' | 'manual';
  startedAt?: string;
  gracePeriodSeconds?: number;
  /** when the current phase was entered */
  phaseSince?: string;
  /** set on load when a stored schedule field is unreadable; never saved (see checkRotation) */
  damage?: ScheduleDamage;
}

export interface ScheduleDamage {
  /** each bad stored value, by name, e.g. "authorities.user.rotation.gracePeriodSeconds is not a valid duration" */
  problems: string[];
  /** the rotation object exactly as stored, written back unchanged if another CA's change saves the state */
  stored: Record<string, unknown>;
}

export interface AuthorityOf<K> {
  current: K;
  /** the incoming key while a rotation is under way */
  next?: K;
  /** keys of completed rotations: no longer trusted, kept so old certs can still be identified */
  retired: Retired<K>[];
  rotation: RotationState;
}

export type AuthorityRecord = AuthorityOf<CaKeyRecord>;
export type TlsAuthorityRecord = AuthorityOf<TlsKeyRecord>;

export interface State {
  version: number;
  clusterName: string;
  createdAt: string;
  authorities: Record<CaType, AuthorityRecord>;
  /**
   * The TLS CAs (additive: absent from data dirs initialised before TLS support, which
   * "tctl auth init" completes). host and user rotate in lockstep with their SSH CA.
   */
  tls?: Partial<Record<TlsCa, TlsAuthorityRecord>>;
}

/** The TLS CAs that rotate on their own; host and user follow their SSH CA. */
export const TLS_ONLY_CAS = ['db', 'db_client'] as const satisfies readonly TlsCa[];

/** Where the state is, for messages: the path of state.json, or its place in the database. */
export function statePath(store: CaStore): string {
  return store.locate(STATE_FILE);
}

export function notInitialised(store: CaStore): TctlError {
  return new TctlError(`${store.describe()} is not initialised`, {
    hint: 'run "tctl auth init --cluster-name=NAME" first (or pass the right --data-dir or --backend)',
  });
}

function damaged(file: string, why: string): TctlError {
  return new TctlError(`${file} is damaged: ${why}`, {
    hint: 'restore the CA from a backup; tctl will not sign or export from a damaged state',
  });
}

export interface LoadOptions {
  /**
   * Return a state whose rotation schedule is damaged instead of refusing it. Only status (to
   * show it) and the rotation steps that end a rotation (to recover) ask for this.
   */
  allowDamagedSchedule?: boolean;
}

/** The one error every other command gives for a damaged schedule: each bad value by name, and the way out. */
export function scheduleDamageError(store: CaStore, state: State): TctlError | undefined {
  const rotationOf = (t: CaType | TlsCa) => ((CA_TYPES as readonly string[]).includes(t) ? state.authorities[t as CaType] : state.tls?.[t])?.rotation;
  const bad = [...CA_TYPES, ...TLS_ONLY_CAS].filter((t) => rotationOf(t)?.damage);
  if (bad.length === 0) return undefined;
  const problems = bad.flatMap((t) => rotationOf(t)!.damage!.problems);
  const ways = bad.map((t) => {
    const phase = rotationOf(t)!.phase;
    const steps = recoveryPhases(phase).map((p) => `"tctl auth rotate --type=${t} --manual --phase=${p}"`).join(' or ');
    return `the ${t} CA (phase "${phase}") recovers with ${steps}`;
  });
  return new TctlError(`${statePath(store)}: ${problems.join('; ')}`, {
    hint: `the rotation schedule is ignored until then; ${ways.join('; ')} ("tctl status" shows the rotation)`,
  });
}

export function loadState(store: CaStore, opts: LoadOptions = {}): State {
  const file = statePath(store);
  const text = store.readState();
  if (text === undefined) throw notInitialised(store);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw damaged(file, text.length === 0 ? 'empty file' : 'not valid JSON');
  }
  const state = checkState(file, raw);
  const damage = opts.allowDamagedSchedule ? undefined : scheduleDamageError(store, state);
  if (damage) throw damage;
  return state;
}

// Times a rotation may name: ISO 8601 in UTC as toISOString writes it, 1970 to 9999, so every
// sum of a start and a capped grace period is still a valid Date.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;
const MAX_TIME = Date.parse('9999-12-31T23:59:59.999Z');

function isStoredTime(v: unknown): v is string {
  if (typeof v !== 'string' || !ISO_TIME.test(v)) return false;
  const ms = Date.parse(v);
  return Number.isFinite(ms) && ms >= 0 && ms <= MAX_TIME;
}

/**
 * Validates a stored rotation by value. The phase decides which key signs and which keys are
 * trusted, so an unknown phase is damage nothing can work around (restore a backup). The other
 * fields only drive the automatic schedule: a bad one (null where JSON had no Infinity, a grace
 * period past the cap, a time Date cannot hold) is dropped from the loaded record and named in
 * `damage`. A damaged record has no schedule (autoSchedule ignores it), so the clock never
 * advances, completes or retires anything on a value nobody could read; every command except
 * status and the steps that end the rotation (recoveryPhases) refuses with the named values.
 * Those steps write a clean record; the stored object is kept verbatim until then.
 */
function checkRotation(rot: Record<string, unknown>, where: string): RotationState {
  const phase = rot.phase as Phase;
  const problems: string[] = [];
  const out: RotationState = { phase };
  if (rot.mode !== undefined) {
    if (rot.mode === 'auto' || rot.mode === 'manual') out.mode = rot.mode;
    else problems.push(`${where}.mode is not "auto" or "manual"`);
  }
  for (const k of ['startedAt', 'phaseSince'] as const) {
    if (rot[k] === undefined) continue;
    if (isStoredTime(rot[k])) out[k] = rot[k];
    else problems.push(`${where}.${k} is not a valid time: an ISO 8601 UTC time between 1970 and 9999`);
  }
  const grace = rot.gracePeriodSeconds;
  if (grace !== undefined) {
    if (typeof grace === 'number' && Number.isSafeInteger(grace) && grace >= 0 && grace <= GRACE_CAP.seconds) out.gracePeriodSeconds = grace;
    else problems.push(`${where}.gracePeriodSeconds is not a valid duration: whole seconds up to ${GRACE_CAP.text}`);
  }
  // An auto rotation without a readable start or grace period has no schedule: say so rather than stall or jump.
  if (phase !== 'standby' && out.mode === 'auto') {
    if (rot.startedAt === undefined) problems.push(`${where}.startedAt is missing from an auto rotation`);
    if (grace === undefined) problems.push(`${where}.gracePeriodSeconds is missing from an auto rotation`);
    else if (out.gracePeriodSeconds === 0) problems.push(`${where}.gracePeriodSeconds is 0 in an auto rotation`);
  }
  if (problems.length > 0) out.damage = { problems, stored: rot };
  return out;
}

const MAX_REF_BYTES = 256;

/**
 * The storage fields of a key record: `encrypted` is true or absent; `pkcs11` is a token reference
 * and then no file is named; otherwise a live key names its file (a retired one may not).
 */
function checkStorage(file: string, o: Record<string, unknown>, what: string, retired: boolean): Pick<StoredKey, 'file' | 'encrypted' | 'pkcs11'> {
  const out: Pick<StoredKey, 'file' | 'encrypted' | 'pkcs11'> = {};
  if (o.encrypted !== undefined && o.encrypted !== true) throw damaged(file, `${what}.encrypted must be true or absent`);
  if (o.pkcs11 !== undefined) {
    const p = o.pkcs11 as Record<string, unknown> | null;
    if (typeof p !== 'object' || p === null || Array.isArray(p)) throw damaged(file, `${what}.pkcs11 is not an object`);
    const ref = {} as Pkcs11Ref;
    for (const k of ['token', 'id', 'label'] as const) {
      const v = p[k];
      if (typeof v !== 'string' || v === '' || Buffer.byteLength(v) > MAX_REF_BYTES || /[\0-\x1f]/.test(v)) throw damaged(file, `${what}.pkcs11.${k} is missing or invalid`);
      ref[k] = v;
    }
    if (o.file !== undefined || o.encrypted !== undefined) throw damaged(file, `${what} names both a PKCS#11 key and a key file`);
    out.pkcs11 = ref;
    return out;
  }
  if (o.file === undefined && retired) return out;
  if (typeof o.file !== 'string' || o.file === '') throw damaged(file, `${what}.file is missing`);
  if (path.isAbsolute(o.file) || o.file.split(/[\\/]/).includes('..')) throw damaged(file, `${what}.file points outside the data dir`);
  out.file = o.file;
  if (o.encrypted === true) out.encrypted = true;
  return out;
}

/** Checks that name the field that is missing or of the wrong shape, as damage to this file. */
function shapeCheckers(file: string) {
  return {
    obj(v: unknown, what: string): Record<string, unknown> {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw damaged(file, `${what} is missing or not an object`);
      return v as Record<string, unknown>;
    },
    str(o: Record<string, unknown>, k: string, what: string): string {
      const v = o[k];
      if (typeof v !== 'string' || v === '') throw damaged(file, `${what}.${k} is missing`);
      return v;
    },
  };
}

function checkState(file: string, raw: unknown): State {
  const { obj, str } = shapeCheckers(file);
  const key = (v: unknown, what: string, retired = false): CaKeyRecord => {
    const o = obj(v, what);
    const keyType = str(o, 'keyType', what);
    if (!(KEY_TYPES as readonly string[]).includes(keyType)) throw damaged(file, `${what}.keyType "${keyType}" is unknown`);
    const rec: CaKeyRecord = {
      keyType: keyType as KeyType,
      publicKey: str(o, 'publicKey', what),
      fingerprint: str(o, 'fingerprint', what),
      createdAt: str(o, 'createdAt', what),
      // A retired key's private half is removed (rotate.ts retire), so its record names no file.
      ...checkStorage(file, o, what, retired),
    };
    // What exports print comes from here, so it must be the key its fingerprint names.
    const blob = Buffer.from(rec.publicKey, 'base64');
    try {
      parsePublicKeyBlob(blob);
    } catch {
      throw damaged(file, `${what}.publicKey is not a valid public key`);
    }
    if (fingerprint(blob) !== rec.fingerprint) throw damaged(file, `${what}.publicKey does not match its fingerprint`);
    return rec;
  };
  const root = obj(raw, 'state');
  if (root.version !== STATE_VERSION) {
    throw new TctlError(`${file} has version ${String(root.version)}; this tctl reads version ${STATE_VERSION}`, {
      hint: 'use the tctl release that wrote this data dir',
    });
  }
  const auths = obj(root.authorities, 'authorities');
  const authorities = {} as Record<CaType, AuthorityRecord>;
  for (const t of CA_TYPES) {
    const a = obj(auths[t], `authorities.${t}`);
    const rot = obj(a.rotation, `authorities.${t}.rotation`);
    if (!(PHASES as readonly string[]).includes(rot.phase as string)) throw damaged(file, `authorities.${t}.rotation.phase is unknown`);
    if (!Array.isArray(a.retired)) throw damaged(file, `authorities.${t}.retired is missing`);
    authorities[t] = {
      current: key(a.current, `authorities.${t}.current`),
      next: a.next === undefined ? undefined : key(a.next, `authorities.${t}.next`),
      retired: a.retired.map((r, i) => key(r, `authorities.${t}.retired[${i}]`, true) as RetiredKeyRecord),
      rotation: checkRotation(rot, `authorities.${t}.rotation`),
    };
    if (authorities[t].rotation.phase !== 'standby' && !authorities[t].next) throw damaged(file, `authorities.${t} is rotating but has no next key`);
  }
  const state: State = {
    version: STATE_VERSION,
    clusterName: str(root, 'clusterName', 'state'),
    createdAt: str(root, 'createdAt', 'state'),
    authorities,
  };
  if (root.tls !== undefined) state.tls = checkTls(file, obj(root.tls, 'tls'), auths);
  return state;
}

const PIN = /^sha256:[0-9a-f]{64}$/;
const ROTATION_FIELDS = ['phase', 'mode', 'startedAt', 'gracePeriodSeconds', 'phaseSince'] as const;

/**
 * The TLS CA records, by shape. That each certificate is the key its pin names is checked where
 * the certificate is used (src/ca/tls-store.ts), so SSH commands never parse X.509.
 */
function checkTls(file: string, tls: Record<string, unknown>, sshAuths: Record<string, unknown>): Partial<Record<TlsCa, TlsAuthorityRecord>> {
  const out: Partial<Record<TlsCa, TlsAuthorityRecord>> = {};
  const { obj, str } = shapeCheckers(file);
  const key = (v: unknown, what: string, retired = false): TlsKeyRecord => {
    const o = obj(v, what);
    const keyType = str(o, 'keyType', what);
    if (!(X509_KEY_TYPES as readonly string[]).includes(keyType)) throw damaged(file, `${what}.keyType "${keyType}" is unknown`);
    const certificate = str(o, 'certificate', what);
    if (!certificate.startsWith('-----BEGIN CERTIFICATE-----')) throw damaged(file, `${what}.certificate is not a PEM certificate`);
    const fingerprint = str(o, 'fingerprint', what);
    if (!PIN.test(fingerprint)) throw damaged(file, `${what}.fingerprint is not a sha256:<hex> pin`);
    return { keyType: keyType as X509KeyType, certificate, fingerprint, createdAt: str(o, 'createdAt', what), ...checkStorage(file, o, what, retired) };
  };
  for (const [name, value] of Object.entries(tls)) {
    if (!(TLS_CAS as readonly string[]).includes(name)) throw damaged(file, `tls.${name} is not a TLS certificate authority`);
    const t = name as TlsCa;
    const a = obj(value, `tls.${t}`);
    const rot = obj(a.rotation, `tls.${t}.rotation`);
    if (!(PHASES as readonly string[]).includes(rot.phase as string)) throw damaged(file, `tls.${t}.rotation.phase is unknown`);
    if (!Array.isArray(a.retired)) throw damaged(file, `tls.${t}.retired is missing`);
    // host and user TLS keys rotate with their SSH key: one phase decides what both trust.
    if (t === 'host' || t === 'user') {
      const ssh = obj(obj(sshAuths[t], `authorities.${t}`).rotation, `authorities.${t}.rotation`);
      if (ROTATION_FIELDS.some((f) => JSON.stringify(rot[f]) !== JSON.stringify(ssh[f]))) throw damaged(file, `tls.${t}.rotation does not match authorities.${t}.rotation`);
    }
    out[t] = {
      current: key(a.current, `tls.${t}.current`),
      next: a.next === undefined ? undefined : key(a.next, `tls.${t}.next`),
      retired: a.retired.map((r, i) => key(r, `tls.${t}.retired[${i}]`, true)),
      rotation: checkRotation(rot, `tls.${t}.rotation`),
    };
    if (out[t]!.next === undefined) delete out[t]!.next;
    if (out[t]!.rotation.phase !== 'standby' && !out[t]!.next) throw damaged(file, `tls.${t} is rotating but has no next key`);
  }
  return out;
}

export function saveState(store: CaStore, state: State): void {
  // A damaged rotation record is written back exactly as it was read: only its own recovery step rewrites it.
  const authorities = Object.fromEntries(
    CA_TYPES.map((t) => {
      const { rotation, ...rest } = state.authorities[t];
      const { damage, ...clean } = rotation;
      return [t, { ...rest, rotation: damage ? damage.stored : clean }];
    }),
  );
  const stored: Record<string, unknown> = { ...state, authorities };
  if (state.tls !== undefined) {
    stored.tls = Object.fromEntries(
      TLS_CAS.flatMap((t) => {
        const a = state.tls![t];
        if (!a) return [];
        const { rotation, ...rest } = a;
        const { damage, ...clean } = rotation;
        return [[t, { ...rest, rotation: damage ? damage.stored : clean }]];
      }),
    );
  }
  store.saveState(JSON.stringify(stored, null, 2) + '\n');
}
