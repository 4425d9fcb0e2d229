// Which extensions each kind of certificate carries. OpenSSH wants them sorted and unique;
// canonicalOptions in ssh/certificate.ts enforces that at encode time.
import { UsageError, allowedValues } from '../errors.js';
import type { CertOption } from '../ssh/certificate.js';

/**
 * What a user certificate may permit, by the names ssh-keygen's `-O no-*` options use. sshd
 * grants nothing a certificate does not list (auth-options.c), so leaving a name out is how a
 * permission is taken away.
 */
export const PERMITS = ['agent-forwarding', 'port-forwarding', 'pty', 'user-rc', 'x11-forwarding'] as const;
export type Permit = (typeof PERMITS)[number];

/** The extension each permit becomes; X11 keeps OpenSSH's capital letters. */
const PERMIT_EXTENSION: Record<Permit, string> = {
  'agent-forwarding': 'permit-agent-forwarding',
  'port-forwarding': 'permit-port-forwarding',
  pty: 'permit-pty',
  'user-rc': 'permit-user-rc',
  'x11-forwarding': 'permit-X11-forwarding',
};

/** ssh-keygen's default user-certificate permissions. */
export const DEFAULT_PERMITS: readonly Permit[] = PERMITS;

/**
 * A force-command certificate keeps only a pty. `ssh -N -L` (or -W, -R, an agent) never opens a
 * session, so the forced command never runs and would not stop a tunnel: a cert restricted to
 * one command must not carry the forwarding permissions, nor user-rc (~/.ssh/rc runs first).
 */
export const FORCE_COMMAND_PERMITS: readonly Permit[] = ['pty'];

/** The permits a force-command certificate would have had by default and lost; named in the note the CLI prints. */
export const DROPPED_BY_FORCE_COMMAND: readonly Permit[] = DEFAULT_PERMITS.filter((p) => !FORCE_COMMAND_PERMITS.includes(p));

/** Sorted, unique, each a known name (or the one word "none", ssh-keygen's `-O clear`). */
export function checkPermits(what: string, names: string[]): Permit[] {
  if (names.length === 1 && names[0] === 'none') return [];
  const out = new Set<Permit>();
  for (const n of names) {
    if (n === 'none') throw new UsageError(`${what}: "none" cannot be combined with other names`);
    if (!(PERMITS as readonly string[]).includes(n)) {
      throw new UsageError(`invalid ${what} "${n}"; allowed values: ${allowedValues(PERMITS)}, or none`);
    }
    out.add(n as Permit);
  }
  return PERMITS.filter((p) => out.has(p));
}

/**
 * The permits of a user certificate: --permit (exactly these) or the default set (all, or only
 * a pty with force-command), minus every --no-* flag. A name both permitted and refused is a
 * contradiction, not an order-dependent win.
 */
export function resolvePermits(opts: { permit?: Permit[]; deny?: Permit[]; forceCommand: boolean }): Permit[] {
  const deny = new Set(opts.deny ?? []);
  const conflict = (opts.permit ?? []).find((p) => deny.has(p));
  if (conflict !== undefined) throw new UsageError(`--permit lists "${conflict}" and --no-${conflict} refuses it; give one`);
  const base = opts.permit ?? (opts.forceCommand ? FORCE_COMMAND_PERMITS : DEFAULT_PERMITS);
  return PERMITS.filter((p) => base.includes(p) && !deny.has(p));
}

export function permitExtension(p: Permit): string {
  return PERMIT_EXTENSION[p];
}

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

export function userExtensions(clusterName: string, principals: string[], compat: Compat, permits: readonly Permit[] = DEFAULT_PERMITS): CertOption[] {
  const granted = [...new Set(permits)].map((p) => ({ name: PERMIT_EXTENSION[p], value: '' }));
  if (compat === 'oldssh') return granted;
  return [
    ...granted,
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
