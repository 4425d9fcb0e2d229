import { ROTATING_CAS, loadCurrentState, rotateAuthority, signingKeyRecord, trustedKeyRecords } from '../../ca/authority.js';
import type { AuthorityOf, KeyRecordBase, State } from '../../store/state.js';
import { liveCertificateCounts, retiringKey } from '../../ca/inventory.js';
import type { RotateAction, RotatingCa, TlsKeyMaker } from '../../ca/authority.js';
import { parseDuration } from '../../ca/duration.js';
import { TctlError, UsageError, oneOf } from '../../errors.js';
import { PHASES } from '../../rotation/phases.js';
import type { Phase } from '../../rotation/phases.js';
import { DEFAULT_GRACE_SECONDS, GRACE_CAP, autoSchedule } from '../../rotation/rotate.js';
import { KEY_TYPES } from '../../ssh/keys.js';
import type { GlobalOptions } from '../context.js';
import { resolveContext } from '../context.js';
import { stderr, stdout, stdoutJson } from '../output.js';
import { ask, canPrompt, confirm } from '../prompt.js';
import type { CaStore } from '../../store/ca-store.js';

/**
 * Same names as export: openssh is the user CA. Teleport's old "all" is gone there too. host and
 * user rotate their SSH and TLS keys together; db and db_client are TLS only.
 */
export const ROTATE_TYPES = ['user', 'host', 'openssh', 'db', 'db_client', 'db-client'] as const;

export interface RotateOptions extends GlobalOptions {
  type?: string;
  gracePeriod?: string;
  manual?: boolean;
  phase?: string;
  yes?: boolean;
  caKeyType?: string;
  json?: boolean;
}

export async function authRotate(opts: RotateOptions): Promise<void> {
  const flags = (['type', 'gracePeriod', 'manual', 'phase', 'yes', 'caKeyType', 'json'] as const).filter((k) => opts[k] !== undefined);
  if (flags.length === 0 && canPrompt()) return guided(opts);
  const keyType = opts.caKeyType === undefined ? undefined : oneOf('--ca-key-type', opts.caKeyType, KEY_TYPES);
  // For TLS keys ecdsa is P-256 and rsa RSA-2048; ed25519 keeps a host/user CA's TLS key type
  // (the SSH default must keep working) and is refused for db and db_client.
  const tlsKeyType = keyType === 'ecdsa' ? 'ecdsa-p256' : keyType === 'rsa' ? 'rsa-2048' : undefined;
  if (opts.phase !== undefined && !opts.manual) throw new UsageError('--phase needs --manual', 'e.g. tctl auth rotate --type=user --manual --phase=init');
  let action: RotateAction;
  if (opts.manual) {
    if (opts.phase === undefined) throw new UsageError('--manual needs --phase', `one of ${PHASES.join(', ')}`);
    // Teleport accepts a grace period on manual rotations too; we record it (tctl status shows it).
    const gracePeriodSeconds = opts.gracePeriod === undefined ? undefined : parseGrace(opts.gracePeriod);
    action = { kind: 'manual', phase: oneOf('--phase', opts.phase, PHASES), keyType, tlsKeyType, gracePeriodSeconds };
  } else {
    const grace = opts.gracePeriod === undefined ? DEFAULT_GRACE_SECONDS : parseGrace(opts.gracePeriod);
    action = { kind: 'auto', gracePeriodSeconds: grace, keyType, tlsKeyType };
  }
  if (opts.json && opts.type === undefined) throw new UsageError('--json needs --type', 'e.g. tctl auth rotate --type=user --json');
  const { store } = await resolveContext(opts);
  const types = await chooseTypes(opts.type);
  const tlsOnly = types.some((t) => t === 'db' || t === 'db_client');
  if (tlsOnly && keyType === 'ed25519') {
    throw new UsageError('--ca-key-type=ed25519 is refused for a TLS CA: not every TLS stack accepts Ed25519 certificates', 'use --ca-key-type=ecdsa or --ca-key-type=rsa');
  }
  if (tlsOnly) delete action.keyType;
  // rotateAuthority decides whether a damaged schedule allows this step; here it only picks the warning.
  const state = loadCurrentState(store, undefined, { allowDamagedSchedule: true });
  // The X.509 code loads only when this step may create a TLS key.
  let makeTlsKey: TlsKeyMaker | undefined;
  if (state.tls && (action.kind === 'auto' || action.phase === 'init')) makeTlsKey = (await import('../../ca/tls-keys.js')).makeTlsKey;

  for (const caType of types) {
    const from = (caType === 'user' || caType === 'host' ? state.authorities[caType] : state.tls?.[caType])?.rotation.phase ?? 'standby';
    const warning = destructiveWarning(caType, from, action, () => liveSignedByRetiring(store, state, caType));
    if (warning && !opts.yes && canPrompt()) {
      if (!(await confirm(`${warning} Continue?`))) throw new TctlError(`not rotating the ${caType} CA`);
    } else if (warning) {
      // Not asked (--yes, or no terminal): still said, so the log of a script shows what it cost.
      stderr(`tctl: note: ${warning}`);
    }
    const updated = rotateAuthority(store, caType, action, undefined, makeTlsKey);
    const record = caType === 'user' || caType === 'host' ? updated.authorities[caType] : updated.tls![caType]!;
    const phase = record.rotation.phase;
    const message =
      action.kind === 'manual'
        ? `Updated rotation phase to "${phase}". To check status use 'tctl status'`
        : `Initiated certificate authority rotation. To check status use 'tctl status'`;
    if (opts.json) {
      const signer = signingKeyRecord(record as AuthorityOf<KeyRecordBase>);
      stdoutJson({
        type: caType,
        from,
        phase,
        mode: phase === 'standby' ? null : (record.rotation.mode ?? 'manual'),
        signer: signer.fingerprint,
        trusted: trustedKeyRecords(record as AuthorityOf<KeyRecordBase>).map((k) => k.fingerprint),
        schedule: autoSchedule(record).map((s) => ({ phase: s.phase, at: s.at.toISOString() })),
      });
      stderr(message);
    } else {
      stdout(message);
    }
    stderr(nextSteps(caType, phase, from, action, autoSchedule(record)));
  }
}

/** The guided walk-through, then the same step the flags would have taken. */
async function guided(opts: RotateOptions): Promise<void> {
  const { store } = await resolveContext(opts);
  const state = loadCurrentState(store, undefined, { allowDamagedSchedule: true });
  const cas = ROTATING_CAS.filter((t) => t === 'user' || t === 'host' || state.tls?.[t] !== undefined);
  const { guidedRotation } = await import('./auth-rotate-guided.js');
  const step = await guidedRotation(state, cas, (t, from, action) => destructiveWarning(t, from, action, () => liveSignedByRetiring(store, state, t)));
  const makeTlsKey = state.tls && (step.action.kind === 'auto' || step.action.phase === 'init') ? (await import('../../ca/tls-keys.js')).makeTlsKey : undefined;
  const updated = rotateAuthority(store, step.caType, step.action, undefined, makeTlsKey);
  const record = step.caType === 'user' || step.caType === 'host' ? updated.authorities[step.caType] : updated.tls![step.caType]!;
  stdout(`Updated rotation phase to "${record.rotation.phase}". To check status use 'tctl status'`);
  stderr(nextSteps(step.caType, record.rotation.phase, step.from, step.action, autoSchedule(record)));
}

function parseGrace(text: string): number {
  // 0 is meaningful here (complete at once), unlike a certificate ttl.
  if (/^0+[smhd]?$/.test(text)) return 0;
  return parseDuration('--grace-period', text, GRACE_CAP);
}

async function chooseTypes(type: string | undefined): Promise<RotatingCa[]> {
  if (type !== undefined) {
    const t = oneOf('--type', type, ROTATE_TYPES);
    return [t === 'openssh' ? 'user' : t === 'db-client' ? 'db_client' : t];
  }
  if (!canPrompt()) {
    throw new UsageError('--type must be specified', 'e.g. tctl auth rotate --type=user (or --type=host); run it twice to rotate both');
  }
  const answer = await ask('Rotate which certificate authority? [user/host/both]');
  if (answer === 'both') return ['user', 'host'];
  if (answer === 'user' || answer === 'host') return [answer];
  throw new UsageError(`"${answer}" is not one of user, host, both`);
}

function destructiveWarning(caType: RotatingCa, from: Phase, action: RotateAction, live: () => number): string | undefined {
  const still = () => {
    const n = live();
    return `${n} live certificate${n === 1 ? '' : 's'} (unexpired, unrevoked) signed by it ${n === 1 ? 'stops' : 'stop'} working`;
  };
  if (action.kind === 'auto' && action.gracePeriodSeconds === 0) {
    return `--grace-period=0 replaces the ${caType} CA at once: ${still()} now.`;
  }
  if (action.kind === 'manual' && action.phase === 'standby' && from === 'update_servers') {
    return `Completing the rotation drops the old ${caType} CA key: ${still()} once the export is redeployed.`;
  }
  if (action.kind === 'manual' && action.phase === 'standby' && from === 'rollback') {
    return `Finishing the rollback drops the new ${caType} CA key: ${still()} once the export is redeployed.`;
  }
  return undefined;
}

/** Live certificates signed by the key this step drops: the SSH key and, for host/user, its TLS twin. */
function liveSignedByRetiring(store: CaStore, state: State, caType: RotatingCa): number {
  const records = caType === 'user' || caType === 'host' ? [state.authorities[caType], state.tls?.[caType]] : [state.tls?.[caType]];
  // At rest (grace 0 from standby) the key to go is the current one.
  const keys = records.flatMap((a) => {
    if (!a) return [];
    const k = a.rotation.phase === 'standby' ? a.current : retiringKey<{ fingerprint: string }>(a);
    return k ? [k.fingerprint] : [];
  });
  let n = 0;
  for (const c of liveCertificateCounts(store, keys, new Date()).values()) n += c;
  return n;
}

/** What an operator of a plain OpenSSH fleet must do after this step. */
export function nextSteps(caType: RotatingCa, phase: Phase, from: Phase, action: RotateAction, schedule: { phase: Phase; at: Date }[]): string {
  const push =
    caType === 'user'
      ? 'tctl auth export --type=user > teleport_user_ca.pub, then copy it to every server\'s TrustedUserCAKeys file (sshd rereads it per login)'
      : caType === 'host'
        ? 'tctl auth export --type=host, then replace the @cert-authority lines in every client\'s known_hosts'
        : caType === 'db'
          ? 'tctl auth export --type=db > db-ca.crt, then give it to every database client (sslrootcert)'
          : 'tctl auth export --type=db-client > db-client-ca.crt, then install it as every database\'s client CA (ssl_ca_file) and reload';
  const resign =
    caType === 'user'
      ? 're-sign user certificates: tctl auth sign --user=NAME --public-key=KEY.pub --overwrite (writes KEY-cert.pub beside the key)'
      : caType === 'host'
        ? 're-sign host certificates: tctl auth sign --host=NAMES --public-key=/etc/ssh/ssh_host_ed25519_key.pub --overwrite, then reload sshd'
        : caType === 'db'
          ? 're-sign database server certificates: tctl auth sign --format=db --host=NAMES --out=server --overwrite, then reload the database'
          : 're-sign database client certificates: tctl auth sign --format=db --user=NAME --out=NAME --overwrite';
  const lines = [`Next steps for the ${caType} CA (phase "${phase}"):`];
  const when = (p: Phase) => schedule.find((s) => s.phase === p)?.at.toISOString() ?? '?';
  if (action.kind === 'auto' && phase === 'init') {
    lines.push(
      `  1. now: ${push} (both keys are listed)`,
      `  2. from ${when('update_clients')} the new key signs; ${resign}`,
      `  3. at ${when('standby')} the old key is dropped; push the export again then ("tctl status" shows the schedule)`,
    );
  } else if (phase === 'init') lines.push(`  1. ${push} (both keys are listed)`, `  2. then: tctl auth rotate --type=${caType} --manual --phase=update_clients`);
  else if (phase === 'update_clients') lines.push(`  1. new certificates are signed by the new key; ${resign}`, `  2. then: tctl auth rotate --type=${caType} --manual --phase=update_servers`);
  else if (phase === 'update_servers') lines.push(`  1. finish: ${resign}`, `  2. then complete: tctl auth rotate --type=${caType} --manual --phase=standby`);
  else if (phase === 'rollback') lines.push(`  1. the old key signs again; ${resign} for anything signed by the new key`, `  2. then: tctl auth rotate --type=${caType} --manual --phase=standby`);
  else if (from === 'standby') lines.push('  1. the damaged rotation record is rewritten; no key changed and nothing needs to be pushed');
  else if (from === 'rollback') lines.push(`  1. the rollback is complete; ${push} (only the old key is listed now)`);
  else lines.push(`  1. the rotation is complete; ${push} (only the new key is listed now)`, action.kind === 'auto' ? `  2. ${resign}` : '  2. certificates signed by the old key are no longer trusted once step 1 is done');
  return lines.join('\n');
}
