// Where the data dir is: --data-dir, else $TCTL_DATA_DIR, else teleport.data_dir from --config,
// else a per-user default. Flags beat the environment beat the config file.
import { homedir } from 'node:os';
import * as path from 'node:path';
import { TctlError, UsageError } from '../errors.js';
import type { PartialPkcs11Config } from '../keys/pkcs11-config.js';
import { fileError, readFileCapped } from '../store/files.js';

export interface GlobalOptions {
  dataDir?: string;
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
}

export function defaultDataDir(): string {
  const base = process.env.XDG_DATA_HOME || path.join(homedir(), '.local', 'share');
  return path.join(base, 'tctl');
}

/** Teleport's own tctl talks to an auth server; ours keeps the CA in a local data dir. */
export function refuseRemoteFlags(g: GlobalOptions): void {
  const flag = g.authServer !== undefined ? '--auth-server' : g.identity !== undefined ? '--identity' : undefined;
  if (flag) {
    throw new UsageError(
      `${flag} is not supported: this tctl keeps its certificate authority in a local data dir, not on an auth server`,
      'drop the flag and point --data-dir (or TCTL_DATA_DIR) at the CA data dir',
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
  return {
    dataDir: str(section(doc, 'teleport').data_dir, 'teleport.data_dir'),
    clusterName: str(section(doc, 'auth_service').cluster_name, 'auth_service.cluster_name'),
    ...(pkcs11 ? { pkcs11 } : {}),
  };
}

export async function resolveContext(g: GlobalOptions): Promise<{ dataDir: string; config: TeleportConfig }> {
  refuseRemoteFlags(g);
  const config = g.config !== undefined ? await readConfig(g.config) : {};
  if (g.dataDir === '') throw new UsageError('--data-dir is empty');
  const dataDir = g.dataDir ?? (process.env.TCTL_DATA_DIR || undefined) ?? config.dataDir ?? defaultDataDir();
  return { dataDir: path.resolve(dataDir), config };
}
