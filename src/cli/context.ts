// Which store holds the CA (src/store/select.ts decides: flags beat the environment beat the
// config file; a data dir unless a PostgreSQL backend is named), and the teleport.yaml settings.
// A command opens its store once, however many times it asks; run() in main.ts closes it.
import { homedir } from 'node:os';
import * as path from 'node:path';
import { TctlError, UsageError } from '../errors.js';
import type { PartialPkcs11Config } from '../keys/pkcs11-config.js';
import type { CaStore } from '../store/ca-store.js';
import { fileError, readFileCapped } from '../store/files.js';
import { openCaStore } from '../store/open.js';
import { type ConfigStorage, type StoreLocation, configStorage, selectStore } from '../store/select.js';

export interface GlobalOptions {
  dataDir?: string;
  /** a postgresql:// URL (env TCTL_BACKEND) */
  backend?: string;
  /** the passphrase of encrypted CA key files (env TCTL_CA_PASSPHRASE_FILE) */
  passphraseFile?: string;
  config?: string;
  debug?: boolean;
  authServer?: string;
  identity?: string;
}

export interface TeleportConfig {
  dataDir?: string;
  clusterName?: string;
  /** auth_service.ca_key_params.pkcs11, checked by shape (src/keys/pkcs11-config.ts) */
  pkcs11?: PartialPkcs11Config;
  /** teleport.storage */
  storage?: ConfigStorage;
}

export function defaultDataDir(): string {
  const base = process.env.XDG_DATA_HOME || path.join(homedir(), '.local', 'share');
  return path.join(base, 'tctl');
}

/** Teleport's own tctl talks to an auth server; ours keeps the CA in a data dir or PostgreSQL. */
export function refuseRemoteFlags(g: GlobalOptions): void {
  const flag = g.authServer !== undefined ? '--auth-server' : g.identity !== undefined ? '--identity' : undefined;
  if (flag) {
    throw new UsageError(
      `${flag} is not supported: this tctl keeps its certificate authority in a data dir or PostgreSQL, not on an auth server`,
      'drop the flag and point --data-dir (or TCTL_DATA_DIR) at the CA data dir, or --backend (TCTL_BACKEND) at its database',
    );
  }
}

/** teleport.yaml files are a few KiB; this only stops a wrong path (/dev/zero) from eating memory. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** Reads the subset of teleport.yaml that matters here. */
export async function readConfig(file: string): Promise<TeleportConfig> {
  if (file === '') throw new UsageError('--config is empty');
  let text: string;
  try {
    text = readFileCapped(file, MAX_CONFIG_BYTES, { name: `config ${file}` }).toString('utf8');
  } catch (err) {
    throw fileError('cannot read config', file, err);
  }
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new TctlError(`config ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const section = (v: unknown, key: string): Record<string, unknown> => {
    const s = (v as Record<string, unknown> | null)?.[key];
    return typeof s === 'object' && s !== null ? (s as Record<string, unknown>) : {};
  };
  const str = (v: unknown, what: string): string | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v === '') throw new TctlError(`config ${file}: ${what} must be a non-empty string`);
    return v;
  };
  // Loaded only when the file has the section: most configs never mention PKCS#11.
  const pkcs11 = section(doc, 'auth_service').ca_key_params !== undefined ? (await import('../keys/pkcs11-config.js')).pkcs11FromTeleportConfig(doc, file) : undefined;
  const storage = configStorage(section(doc, 'teleport').storage, file);
  return {
    dataDir: str(section(doc, 'teleport').data_dir, 'teleport.data_dir'),
    ...(storage ? { storage } : {}),
    clusterName: str(section(doc, 'auth_service').cluster_name, 'auth_service.cluster_name'),
    ...(pkcs11 ? { pkcs11 } : {}),
  };
}

let opened: { key: string; store: CaStore } | undefined;
/** The config a command read: the key access and the command itself both ask for it. */
let readOnce: { file: string; config: Promise<TeleportConfig> } | undefined;

export async function resolveContext(g: GlobalOptions): Promise<{ store: CaStore; location: StoreLocation; config: TeleportConfig }> {
  refuseRemoteFlags(g);
  if (g.config !== undefined && readOnce?.file !== g.config) readOnce = { file: g.config, config: readConfig(g.config) };
  const config = g.config !== undefined ? await readOnce!.config : {};
  const location = selectStore({
    flags: { backend: g.backend, dataDir: g.dataDir },
    env: { TCTL_BACKEND: process.env.TCTL_BACKEND, TCTL_DATA_DIR: process.env.TCTL_DATA_DIR },
    config: { storage: config.storage, dataDir: config.dataDir, file: g.config },
    defaultDataDir: defaultDataDir(),
  });
  const key = location.kind === 'dir' ? `dir:${location.dataDir}` : `pg:${location.url}`;
  if (opened?.key !== key) {
    closeStore();
    opened = { key, store: await openCaStore(location) };
  }
  return { store: opened.store, location, config };
}

/** Closes the store the command opened (its PostgreSQL connection); safe to call twice. */
export function closeStore(): void {
  const s = opened?.store;
  opened = undefined;
  s?.close();
}
