// Ready-to-paste OpenSSH configuration for a cluster (`step ssh config` is the model): the
// sshd_config lines a server needs and the ssh_config block a client needs, with the commands
// that install the files they name. Pure text; the command checks the paths.

export interface ServerConfigPaths {
  userCaKeys: string;
  revokedKeys: string;
  hostKey: string;
  hostCertificate: string;
}

export interface ClientConfigPaths {
  knownHosts: string;
  revokedHostKeys: string;
  identity?: string;
}

export const DEFAULT_SERVER_PATHS = (hostKey = '/etc/ssh/ssh_host_ed25519_key'): ServerConfigPaths => ({
  userCaKeys: '/etc/ssh/teleport_user_ca.pub',
  revokedKeys: '/etc/ssh/revoked.krl',
  hostKey,
  hostCertificate: `${hostKey}-cert.pub`,
});

/**
 * ssh expands ~ in UserKnownHostsFile but (OpenSSH 9.2, checked by strace) not in
 * RevokedHostKeys: "~/x.krl" is opened literally, is missing, and every host is refused. So the
 * KRL path is absolute, under the home directory of whoever runs this.
 */
export const DEFAULT_CLIENT_PATHS = (clusterName: string, home: string): ClientConfigPaths => ({
  knownHosts: `~/.ssh/known_hosts.${clusterName}`,
  revokedHostKeys: `${home}/.ssh/revoked.${clusterName}.krl`,
});

/**
 * sshd_config lines. RevokedKeys is not optional: it is deployed from the start (an empty KRL is
 * valid), because a RevokedKeys file that goes missing later makes sshd refuse every login.
 */
export function serverConfig(clusterName: string, p: ServerConfigPaths): string {
  return [
    `# sshd_config for the ${clusterName} cluster (tctl ssh config --host).`,
    '# Install the files it names first, then check with "sshd -t" and reload sshd:',
    `#   tctl auth export --type=user > ${p.userCaKeys}`,
    `#   tctl auth export --type=krl -o ${p.revokedKeys}`,
    `#   tctl auth sign --host=HOSTNAME.${clusterName} --public-key=${p.hostKey}.pub --out=${p.hostKey}`,
    `# (that last command writes ${p.hostCertificate}; re-run it before the certificate expires)`,
    `TrustedUserCAKeys ${p.userCaKeys}`,
    `RevokedKeys ${p.revokedKeys}`,
    `HostKey ${p.hostKey}`,
    `HostCertificate ${p.hostCertificate}`,
    '',
  ].join('\n');
}

/**
 * An ssh_config block for the cluster's hosts. Host certificates are checked through the
 * @cert-authority lines in UserKnownHostsFile; StrictHostKeyChecking yes turns an unsigned host
 * key into a refusal instead of a trust-on-first-use question. RevokedHostKeys is the client's
 * KRL: ssh refuses every host if that file is missing, so it is installed before the block.
 */
export function clientConfig(clusterName: string, hostPatterns: string[], p: ClientConfigPaths, patternsGiven = true): string {
  // Quoted for the shell: a pattern such as *.example.com would otherwise be a glob.
  const patternFlag = patternsGiven ? ` --host-patterns='${hostPatterns.join(',')}'` : '';
  const lines = [
    `# ssh_config for the ${clusterName} cluster (tctl ssh config --user).`,
    '# Install the files it names first, then add this block to ~/.ssh/config',
    `# (or /etc/ssh/ssh_config.d/${clusterName}.conf) and check with "ssh -G HOST":`,
    `#   tctl auth export --type=host${patternFlag} > ${p.knownHosts}`,
    `#   tctl auth export --type=krl -o ${p.revokedHostKeys}`,
    `Host ${hostPatterns.join(' ')}`,
    `    UserKnownHostsFile ${p.knownHosts}`,
    '    StrictHostKeyChecking yes',
    `    RevokedHostKeys ${p.revokedHostKeys}`,
  ];
  // ssh also loads IDENTITY-cert.pub beside an IdentityFile, which is where auth sign --out writes it.
  if (p.identity !== undefined) lines.push(`    IdentityFile ${p.identity}`);
  lines.push('');
  return lines.join('\n');
}

/** The same default patterns as `auth export --type=host`: the cluster name and every name under it. */
export { defaultHostPatterns as defaultHostPatternsFor } from './export.js';
