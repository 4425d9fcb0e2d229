// Which store a command opens. Level by level, the first that says anything wins: flags
// (--backend or --data-dir, not both), then the environment (TCTL_BACKEND, then TCTL_DATA_DIR),
// then teleport.yaml (teleport.storage, then teleport.data_dir), then the per-user data dir.
// Within a level a backend URL beats a data dir: the data dir is what is used when no backend
// is named. Pure: the caller reads the flags, the environment and the config file.
import * as path from 'node:path';
import { TctlError, UsageError } from '../errors.js';
import { isPostgresUrl } from './postgres/url.js';

export type StoreLocation =
  | { kind: 'dir'; dataDir: string; source: StoreSource }
  | { kind: 'postgresql'; url: string; source: StoreSource };

export type StoreSource = '--backend' | '--data-dir' | 'TCTL_BACKEND' | 'TCTL_DATA_DIR' | 'teleport.storage' | 'teleport.data_dir' | 'default';

export interface StoreInputs {
  flags: { backend?: string; dataDir?: string };
  env: { TCTL_BACKEND?: string; TCTL_DATA_DIR?: string };
  config: { storage?: ConfigStorage; dataDir?: string; file?: string };
  defaultDataDir: string;
}

/** teleport.storage as tctl reads it (Teleport's keys). */
export interface ConfigStorage {
  type: string;
  connString?: string;
}

/** Teleport storage types that mean "on this machine": tctl's own equivalent is the data dir. */
const LOCAL_TYPES = ['dir', 'sqlite'];

export function selectStore(i: StoreInputs): StoreLocation {
  const { backend, dataDir } = i.flags;
  if (backend === '') throw new UsageError('--backend is empty');
  if (dataDir === '') throw new UsageError('--data-dir is empty');
  if (backend !== undefined && dataDir !== undefined) {
    throw new UsageError('--backend and --data-dir name two places for the CA; give one', 'use "tctl backend clone" to copy one into the other');
  }
  if (backend !== undefined) return { kind: 'postgresql', url: backendUrl('--backend', backend), source: '--backend' };
  if (dataDir !== undefined) return { kind: 'dir', dataDir: path.resolve(dataDir), source: '--data-dir' };
  if (i.env.TCTL_BACKEND) return { kind: 'postgresql', url: backendUrl('TCTL_BACKEND', i.env.TCTL_BACKEND), source: 'TCTL_BACKEND' };
  if (i.env.TCTL_DATA_DIR) return { kind: 'dir', dataDir: path.resolve(i.env.TCTL_DATA_DIR), source: 'TCTL_DATA_DIR' };
  const s = i.config.storage;
  if (s && !LOCAL_TYPES.includes(s.type)) {
    const where = `config ${i.config.file ?? 'teleport.yaml'}`;
    if (s.type !== 'postgresql') {
      throw new TctlError(`${where}: teleport.storage.type "${s.type}" is not supported`, { hint: 'tctl keeps its CA in "postgresql" or in a local data dir ("dir")' });
    }
    if (!s.connString) throw new TctlError(`${where}: teleport.storage.conn_string is missing`, { hint: 'give a postgresql:// URL' });
    return { kind: 'postgresql', url: backendUrl(`${where}: teleport.storage.conn_string`, s.connString), source: 'teleport.storage' };
  }
  if (i.config.dataDir) return { kind: 'dir', dataDir: path.resolve(i.config.dataDir), source: 'teleport.data_dir' };
  return { kind: 'dir', dataDir: path.resolve(i.defaultDataDir), source: 'default' };
}

function backendUrl(what: string, value: string): string {
  if (isPostgresUrl(value)) return value;
  // Never echo the value: it may be a URL with a password in a scheme we do not know.
  const scheme = /^([a-z][a-z0-9+.-]{0,20}):/i.exec(value)?.[1];
  throw new UsageError(
    `${what} must be a postgresql:// or postgres:// URL${scheme ? `, not ${scheme}:` : ''}`,
    'for a local data dir use --data-dir or TCTL_DATA_DIR',
  );
}

/** A --from or --to of "tctl backend clone": a PostgreSQL URL, or else a data dir path. */
export function parseLocation(what: string, value: string): StoreLocation {
  if (value === '') throw new UsageError(`${what} is empty`);
  if (isPostgresUrl(value)) return { kind: 'postgresql', url: value, source: '--backend' };
  if (/^[a-z][a-z0-9+.-]{0,20}:\/\//i.test(value)) return { kind: 'postgresql', url: backendUrl(what, value), source: '--backend' };
  return { kind: 'dir', dataDir: path.resolve(value), source: '--data-dir' };
}

/** teleport.storage from a parsed teleport.yaml (the section as YAML gave it), or undefined when absent. */
export function configStorage(section: unknown, file: string): ConfigStorage | undefined {
  if (section === undefined || section === null) return undefined;
  if (typeof section !== 'object' || Array.isArray(section)) throw new TctlError(`config ${file}: teleport.storage must be a mapping`);
  const s = section as Record<string, unknown>;
  const type = s.type ?? 'dir';
  if (typeof type !== 'string' || type === '') throw new TctlError(`config ${file}: teleport.storage.type must be a non-empty string`);
  const conn = s.conn_string;
  if (conn !== undefined && (typeof conn !== 'string' || conn === '')) throw new TctlError(`config ${file}: teleport.storage.conn_string must be a non-empty string`);
  return { type, connString: conn as string | undefined };
}
