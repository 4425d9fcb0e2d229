// Which extensions each kind of certificate carries. OpenSSH wants them sorted and unique;
// canonicalOptions in ssh/certificate.ts enforces that at encode time.
import type { CertOption } from '../ssh/certificate.js';

/** ssh-keygen's default user-certificate permissions; sshd grants nothing a cert does not list. */
export const PERMIT_EXTENSIONS = [
  'permit-X11-forwarding',
  'permit-agent-forwarding',
  'permit-port-forwarding',
  'permit-pty',
  'permit-user-rc',
] as const;

/** Compatibility modes: oldssh drops Teleport's extensions for sshd releases that choke on unknown ones. */
export const COMPAT_MODES = ['standard', 'oldssh'] as const;
export type Compat = (typeof COMPAT_MODES)[number];

/** Teleport marks host certs with the issuing cluster and the host's role. */
export function hostExtensions(clusterName: string, compat: Compat): CertOption[] {
  if (compat === 'oldssh') return [];
  return [
    { name: 'x-teleport-authority', value: clusterName },
    { name: 'x-teleport-role', value: 'Node' },
  ];
}

export function userExtensions(clusterName: string, principals: string[], compat: Compat): CertOption[] {
  const permits = PERMIT_EXTENSIONS.map((name) => ({ name, value: '' }));
  if (compat === 'oldssh') return permits;
  return [
    ...permits,
    // Teleport's own user-certificate extensions; sshd ignores extensions it does not know.
    { name: 'teleport-roles', value: JSON.stringify({ version: 'v1', roles: [] }) },
    { name: 'teleport-route-to-cluster', value: clusterName },
    { name: 'teleport-traits', value: JSON.stringify({ logins: principals }) },
  ];
}

/** Extension names that only mean something on user certificates (sshd ignores them on host certs). */
export function isUserOnlyExtension(name: string): boolean {
  return name.startsWith('permit-') || name.startsWith('teleport-') || name === 'no-touch-required';
}
