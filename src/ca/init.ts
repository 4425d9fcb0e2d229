// auth init: a new data dir gets every CA; one initialised before TLS support gets the TLS CAs
// it lacks, and nothing else of it changes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TctlError } from '../errors.js';
import type { KeyType } from '../ssh/keys.js';
import { audited } from '../store/audit.js';
import { ensurePrivateDir } from '../store/files.js';
import { initSerialCounter } from '../store/issuance.js';
import { withLock } from '../store/lock.js';
import { CA_TYPES, KEYS_DIR, isInitialised, loadState, saveState, statePath } from '../store/state.js';
import type { AuthorityRecord, CaType, State, TlsAuthorityRecord } from '../store/state.js';
import { TLS_CAS } from '../x509/types.js';
import type { TlsCa, X509KeyType } from '../x509/types.js';
import { createCaKey, type TlsKeyMaker } from './authority.js';
import { sshFingerprintOf } from './ca-keys.js';
import { newKeyStorage, storageLike } from './key-access.js';

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
    const storage = newKeyStorage();
    const authorities = {} as Record<CaType, AuthorityRecord>;
    for (const t of CA_TYPES) {
      authorities[t] = { current: createCaKey(dataDir, t, opts.keyType, opts.now, { storage, clusterName: opts.clusterName }), retired: [], rotation: { phase: 'standby' } };
    }
    if (!fs.existsSync(path.join(dataDir, 'serial'))) initSerialCounter(dataDir);
    const state: State = { version: 1, clusterName: opts.clusterName, createdAt: opts.now.toISOString(), authorities };
    if (opts.tls) {
      const tls: Partial<Record<TlsCa, TlsAuthorityRecord>> = {};
      for (const t of TLS_CAS) tls[t] = { current: opts.tls.makeKey(dataDir, opts.clusterName, t, opts.tls.keyTypes[t], opts.now, storage), retired: [], rotation: { phase: 'standby' } };
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
    // The TLS keys added to an older data dir are kept where its SSH keys are.
    const storage = storageLike(dataDir, state.authorities.user.current, sshFingerprintOf, statePath(dataDir));
    for (const t of missing) {
      const make = () => tlsInit.makeKey(dataDir, state.clusterName, t, tlsInit.keyTypes[t], now, storage);
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

