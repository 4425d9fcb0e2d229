// auth init: a new store gets every CA; one initialised before TLS support gets the TLS CAs
// it lacks, and nothing else of it changes.
import { TctlError } from '../errors.js';
import type { KeyType } from '../ssh/keys.js';
import { audited } from '../store/audit.js';
import { CA_TYPES, loadState, saveState } from '../store/state.js';
import type { AuthorityRecord, CaType, State, TlsAuthorityRecord } from '../store/state.js';
import { TLS_CAS } from '../x509/types.js';
import type { TlsCa, X509KeyType } from '../x509/types.js';
import { createCaKey, type TlsKeyMaker } from './authority.js';
import { sshFingerprintOf } from './ca-keys.js';
import { newKeyStorage, storageLike } from './key-access.js';
import type { CaStore } from '../store/ca-store.js';

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

function alreadyInitialised(store: CaStore): TctlError {
  return new TctlError(`${store.describe()} is already initialised`, {
    hint: 'each data dir or database holds one cluster; use another --data-dir or --backend for a new one',
  });
}

export function initAuthority(store: CaStore, opts: { clusterName: string; keyType: KeyType; now: Date; tls?: TlsInit }): State {
  return initOrComplete(store, opts).state;
}

/**
 * A new data dir gets every CA. One initialised before TLS support gets exactly the TLS CAs it
 * lacks (host and user in the phase of their SSH CA, with a next key when it is rotating) and
 * nothing else changes; one that has everything is refused as before.
 */
export function initOrComplete(store: CaStore, opts: { clusterName: string; keyType: KeyType; now: Date; tls?: TlsInit }): InitResult {
  return store.withLock(() => {
    if (store.isInitialised()) {
      if (!opts.tls) throw alreadyInitialised(store);
      return completeTls(store, opts.clusterName, opts.tls, opts.now);
    }
    const storage = newKeyStorage();
    const authorities = {} as Record<CaType, AuthorityRecord>;
    for (const t of CA_TYPES) {
      authorities[t] = { current: createCaKey(store, t, opts.keyType, opts.now, { storage, clusterName: opts.clusterName }), retired: [], rotation: { phase: 'standby' } };
    }
    const state: State = { version: 1, clusterName: opts.clusterName, createdAt: opts.now.toISOString(), authorities };
    if (opts.tls) {
      const tls: Partial<Record<TlsCa, TlsAuthorityRecord>> = {};
      for (const t of TLS_CAS) tls[t] = { current: opts.tls.makeKey(store, opts.clusterName, t, opts.tls.keyTypes[t], opts.now, storage), retired: [], rotation: { phase: 'standby' } };
      state.tls = tls;
    }
    // The state is written last: it is what makes the store "initialised".
    saveState(store, state);
    return audited(store, 'auth init', () => ({
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

function completeTls(store: CaStore, clusterName: string, tlsInit: TlsInit, now: Date): InitResult {
  const state = loadState(store);
  const missing = TLS_CAS.filter((t) => !state.tls?.[t]);
  if (missing.length === 0) throw alreadyInitialised(store);
  if (clusterName !== state.clusterName) {
    throw new TctlError(`${store.describe()} holds cluster "${state.clusterName}", not "${clusterName}"`, {
      hint: `run "tctl auth init --cluster-name=${state.clusterName}" to add the TLS certificate authorities to it`,
    });
  }
  return audited(store, 'auth init', () => {
    const tls = { ...state.tls };
    // The TLS keys added to an older data dir are kept where its SSH keys are.
    const storage = storageLike(store, state.authorities.user.current, sshFingerprintOf);
    for (const t of missing) {
      const make = () => tlsInit.makeKey(store, state.clusterName, t, tlsInit.keyTypes[t], now, storage);
      // loadState refused a damaged schedule, so the SSH rotation copied here is a clean one.
      const ssh = t === 'host' || t === 'user' ? state.authorities[t] : undefined;
      const record: TlsAuthorityRecord = { current: make(), retired: [], rotation: ssh ? { ...ssh.rotation } : { phase: 'standby' } };
      if (ssh?.next) record.next = make();
      tls[t] = record;
    }
    const updated: State = { ...state, tls };
    saveState(store, updated);
    return {
      result: { state: updated, created: false, addedTls: missing },
      what: { clusterName: state.clusterName, addedTls: Object.fromEntries(missing.map((t) => [t, tls[t]!.current.fingerprint])) },
    };
  });
}

