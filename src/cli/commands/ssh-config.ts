// `tctl ssh config --host|--user`: the sshd_config or ssh_config text for this cluster.
import { homedir } from 'node:os';
import { UsageError } from '../../errors.js';
import { DEFAULT_CLIENT_PATHS, DEFAULT_SERVER_PATHS, clientConfig, defaultHostPatternsFor, serverConfig } from '../../formats/ssh-config.js';
import { loadState } from '../../store/state.js';
import type { GlobalOptions } from '../context.js';
import { resolveContext } from '../context.js';
import { stdout } from '../output.js';

export interface SshConfigOptions extends GlobalOptions {
  host?: boolean;
  user?: boolean;
  userCaKeys?: string;
  revokedKeys?: string;
  hostKey?: string;
  hostCertificate?: string;
  knownHosts?: string;
  revokedHostKeys?: string;
  identityFile?: string;
  hostPatterns?: string;
}

/**
 * sshd_config and ssh_config split a line on whitespace and treat # as a comment; quoting rules
 * differ between versions, so paths that would need quoting are refused rather than quoted.
 */
function checkPath(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value === '') throw new UsageError(`${flag} is empty`);
  if (/[\s"'#\\\u0000-\u001f\u007f]/.test(value)) {
    throw new UsageError(`invalid ${flag} ${JSON.stringify(value)}: paths in ssh configuration must not contain spaces, quotes, "#" or control characters`);
  }
  return value;
}

function checkPatterns(text: string): string[] {
  const parts = text.split(',');
  if (text === '' || parts.some((p) => p === '' || /[\s"'#\\\u0000-\u001f\u007f]/.test(p))) {
    throw new UsageError(`invalid --host-patterns ${JSON.stringify(text)}`, 'give comma-separated host patterns, e.g. *.example.com,10.0.0.*');
  }
  return parts;
}

export async function sshConfig(opts: SshConfigOptions): Promise<void> {
  if (Boolean(opts.host) === Boolean(opts.user)) {
    throw new UsageError('exactly one of --host (sshd_config for a server) or --user (ssh_config for a client) must be given');
  }
  const serverFlags = { '--user-ca-keys': opts.userCaKeys, '--revoked-keys': opts.revokedKeys, '--host-key': opts.hostKey, '--host-certificate': opts.hostCertificate };
  const clientFlags = { '--known-hosts': opts.knownHosts, '--revoked-host-keys': opts.revokedHostKeys, '--identity-file': opts.identityFile, '--host-patterns': opts.hostPatterns };
  const misplaced = Object.entries(opts.host ? clientFlags : serverFlags).find(([, v]) => v !== undefined);
  if (misplaced) throw new UsageError(`${misplaced[0]} applies to ${opts.host ? '--user' : '--host'}`);
  for (const [flag, v] of Object.entries({ ...serverFlags, ...clientFlags })) if (flag !== '--host-patterns') checkPath(flag, v);
  if (opts.revokedHostKeys?.startsWith('~')) {
    throw new UsageError('--revoked-host-keys must not start with "~": ssh does not expand it in RevokedHostKeys, finds no file and refuses every host', 'give an absolute path');
  }
  const patterns = opts.hostPatterns === undefined ? undefined : checkPatterns(opts.hostPatterns);

  const { store } = await resolveContext(opts);
  const { clusterName } = loadState(store);
  if (opts.host) {
    const d = DEFAULT_SERVER_PATHS(opts.hostKey);
    stdout(
      serverConfig(clusterName, {
        userCaKeys: opts.userCaKeys ?? d.userCaKeys,
        revokedKeys: opts.revokedKeys ?? d.revokedKeys,
        hostKey: d.hostKey,
        hostCertificate: opts.hostCertificate ?? d.hostCertificate,
      }),
    );
    return;
  }
  const d = DEFAULT_CLIENT_PATHS(clusterName, homedir());
  stdout(
    clientConfig(clusterName, patterns ?? defaultHostPatternsFor(clusterName), {
      knownHosts: opts.knownHosts ?? d.knownHosts,
      revokedHostKeys: opts.revokedHostKeys ?? d.revokedHostKeys,
      identity: opts.identityFile,
    }, patterns !== undefined),
  );
}
