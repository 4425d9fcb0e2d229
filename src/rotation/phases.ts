// The rotation state machine of one CA, with Teleport's phase names. A rotation moves from the
// "current" key to a "next" key; during it both are trusted so no cert in the fleet stops
// working before its replacement is deployed.

export const PHASES = ['standby', 'init', 'update_clients', 'update_servers', 'rollback'] as const;
export type Phase = (typeof PHASES)[number];

type Slot = 'current' | 'next';

interface PhaseRule {
  /** which key signs new certificates */
  signer: Slot;
  /** which keys exports list (and so which keys sshd / known_hosts trust), signer first */
  trusted: Slot[];
  /** phases this one may move to */
  next: Phase[];
  /** what the operator of an OpenSSH fleet must do while in this phase */
  todo: string;
}

export const PHASE_TABLE: Record<Phase, PhaseRule> = {
  // Normal operation: one key signs and is trusted.
  standby: { signer: 'current', trusted: ['current'], next: ['init'], todo: 'nothing' },
  // A new key exists and is trusted, but the old one still signs: push the export (both keys)
  // to every sshd TrustedUserCAKeys / known_hosts before anything is signed by the new key.
  init: {
    signer: 'current',
    trusted: ['current', 'next'],
    next: ['update_clients', 'rollback'],
    todo: 'distribute the export (old and new CA keys) to every machine',
  },
  // The new key signs; the old stays trusted so certs issued before the rotation keep working.
  update_clients: {
    signer: 'next',
    trusted: ['next', 'current'],
    next: ['update_servers', 'rollback'],
    todo: 're-sign certificates with the new CA key',
  },
  // Same trust as update_clients; the last chance to re-sign stragglers before the old key goes.
  update_servers: {
    signer: 'next',
    trusted: ['next', 'current'],
    next: ['standby', 'rollback'],
    todo: 'finish re-signing; then complete the rotation (standby) and push the export again',
  },
  // Back out: the old key signs again; the new one stays trusted until standby drops it.
  rollback: {
    signer: 'current',
    trusted: ['current', 'next'],
    next: ['standby'],
    todo: 're-sign any certificate issued by the new key, then go to standby',
  },
};
