// The data dir: state.json (cluster and CA key records), CA private keys, the serial counter and
// the issuance log. Every change goes through an atomic write under the data dir's lock.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TctlError } from '../errors.js';
import { KEY_TYPES, fingerprint, parsePublicKeyBlob } from '../ssh/keys.js';
import type { KeyType } from '../ssh/keys.js';
import { PHASES } from '../rotation/phases.js';
import type { Phase } from '../rotation/phases.js';
import { MAX_DATA_FILE_BYTES, fileError, readFileCapped, writeFileAtomic } from './files.js';

export const STATE_VERSION = 1;
export const STATE_FILE = 'state.json';
export const SERIAL_FILE = 'serial';
export const KEYS_DIR = 'keys';

/** The two certificate authorities; each signs one kind of certificate. */
export const CA_TYPES = ['user', 'host'] as const;
export type CaType = (typeof CA_TYPES)[number];

export interface CaKeyRecord {
  keyType: KeyType;
  /** base64 SSH public-key blob */
  publicKey: string;
  fingerprint: string;
  /** PKCS#8 PEM private key, relative to the data dir */
  file: string;
  createdAt: string;
}

export interface RotationState {
  phase: Phase;
  mode?: 'auto' | 'manual';
  startedAt?: string;
  gracePeriodSeconds?: number;
  /** when the current phase was entered */
  phaseSince?: string;
}

export interface AuthorityRecord {
  current: CaKeyRecord;
  /** the incoming key while a rotation is under way */
  next?: CaKeyRecord;
  /** keys of completed rotations: no longer trusted, kept so old certs can still be identified */
  retired: CaKeyRecord[];
  rotation: RotationState;
}

export interface State {
  version: number;
  clusterName: string;
  createdAt: string;
  authorities: Record<CaType, AuthorityRecord>;
}

export function statePath(dataDir: string): string {
  return path.join(dataDir, STATE_FILE);
}

export function notInitialised(dataDir: string): TctlError {
  return new TctlError(`data dir ${dataDir} is not initialised`, {
    hint: `run "tctl auth init --cluster-name=NAME" first (or pass the right --data-dir)`,
  });
}

function damaged(file: string, why: string): TctlError {
  return new TctlError(`${file} is damaged: ${why}`, {
    hint: 'restore the data dir from a backup; tctl will not sign or export from a damaged state',
  });
}

export function isInitialised(dataDir: string): boolean {
  return fs.existsSync(statePath(dataDir));
}

export function loadState(dataDir: string): State {
  const file = statePath(dataDir);
  let text: string;
  try {
    text = readFileCapped(file, MAX_DATA_FILE_BYTES).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notInitialised(dataDir);
    throw fileError('cannot read', file, err);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw damaged(file, text.length === 0 ? 'empty file' : 'not valid JSON');
  }
  return checkState(file, raw);
}

function checkState(file: string, raw: unknown): State {
  const obj = (v: unknown, what: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw damaged(file, `${what} is missing or not an object`);
    return v as Record<string, unknown>;
  };
  const str = (o: Record<string, unknown>, k: string, what: string): string => {
    const v = o[k];
    if (typeof v !== 'string' || v === '') throw damaged(file, `${what}.${k} is missing`);
    return v;
  };
  const key = (v: unknown, what: string): CaKeyRecord => {
    const o = obj(v, what);
    const keyType = str(o, 'keyType', what);
    if (!(KEY_TYPES as readonly string[]).includes(keyType)) throw damaged(file, `${what}.keyType "${keyType}" is unknown`);
    const rec = {
      keyType: keyType as KeyType,
      publicKey: str(o, 'publicKey', what),
      fingerprint: str(o, 'fingerprint', what),
      file: str(o, 'file', what),
      createdAt: str(o, 'createdAt', what),
    };
    if (path.isAbsolute(rec.file) || rec.file.split(/[\\/]/).includes('..')) throw damaged(file, `${what}.file points outside the data dir`);
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
      retired: a.retired.map((r, i) => key(r, `authorities.${t}.retired[${i}]`)),
      rotation: rot as unknown as RotationState,
    };
    if (authorities[t].rotation.phase !== 'standby' && !authorities[t].next) throw damaged(file, `authorities.${t} is rotating but has no next key`);
  }
  return {
    version: STATE_VERSION,
    clusterName: str(root, 'clusterName', 'state'),
    createdAt: str(root, 'createdAt', 'state'),
    authorities,
  };
}

export function saveState(dataDir: string, state: State): void {
  writeFileAtomic(statePath(dataDir), JSON.stringify(state, null, 2) + '\n', { mode: 0o600, overwrite: true });
}
