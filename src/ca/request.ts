// A certificate request, checked in one place before a serial is allocated or a file touched.
import { randomBytes } from 'node:crypto';
import { UsageError } from '../errors.js';
import { FOREVER } from '../ssh/certificate.js';
import type { CertificateBody, CertOption, CertType } from '../ssh/certificate.js';
import type { SshPublicKey } from '../ssh/keys.js';
import { formatDuration } from './duration.js';
import { formatTime } from './validity.js';
import { checkPermits, hostExtensions, resolvePermits, userExtensions } from './extensions.js';
import type { Compat, Permit } from './extensions.js';
import { checkHostPrincipal, checkHostPrincipals, checkUserPrincipal, checkUserPrincipals } from './principals.js';
import { checkSourceAddresses } from './source-address.js';

/** Clock skew allowance: certificates are valid from one minute before they are signed (as Teleport does). */
export const BACKDATE_SECONDS = 60;
/** Longest --ttl accepted; long-lived CI identities use 87600h in Teleport's docs, so that is the cap. */
export const MAX_TTL_SECONDS = 87600 * 3600;
export const DEFAULT_USER_TTL_SECONDS = 12 * 3600;
/** 9999-12-31T23:59:59Z, the last time --valid-after/--valid-before can name. */
const LAST_WINDOW_SECOND = 253402300799;

export interface CertificateRequest {
  type: CertType;
  /** user: the user name; host: the host names and IPs */
  principals: string[];
  keyId: string;
  publicKey: SshPublicKey;
  /** undefined on a host request means "never expires" */
  ttlSeconds?: number;
  /** a fixed window (unix seconds), as ssh-keygen -V; the TTL then counts from validAfter */
  validAfter?: number;
  validBefore?: number;
  forceCommand?: string;
  sourceAddress?: string[];
  /** user: the permit-* extensions, sorted; undefined means the default for the request (see resolvePermits) */
  permits?: Permit[];
  compat: Compat;
}

/** What the command line says; the key comes later (it may be generated only once all else is valid). */
export type RequestFields = Omit<CertificateRequest, 'publicKey'>;

/** Validates and normalises a request; throws a UsageError naming the first problem. */
export function checkRequest<T extends RequestFields>(req: T): T {
  const out = { ...req };
  if (req.type === 'host') {
    out.principals = checkHostPrincipals(req.principals);
    // The key id (and so the default file name) is the first host name, spelled as its principal.
    out.keyId = checkHostPrincipal(req.keyId);
    if (req.forceCommand !== undefined || req.sourceAddress !== undefined) {
      throw new UsageError('--force-command and --source-address apply to user certificates only');
    }
    if (req.permits !== undefined) throw new UsageError('--permit and --no-* apply to user certificates only', 'sshd ignores permit-* extensions on host certificates');
  } else {
    out.keyId = checkUserPrincipal('user name', req.keyId);
    out.principals = checkUserPrincipals(req.principals);
    if (req.forceCommand !== undefined) {
      if (req.forceCommand === '') throw new UsageError('--force-command is empty');
      if (/[\u0000\n\r]/.test(req.forceCommand)) throw new UsageError('--force-command must be a single line');
    }
    if (req.sourceAddress !== undefined) out.sourceAddress = checkSourceAddresses(req.sourceAddress);
    // Checked again at signing time (issueCertificates), so a request built in code cannot
    // smuggle in a name outside the closed set or an unsorted list.
    out.permits =
      req.permits === undefined
        ? resolvePermits({ forceCommand: req.forceCommand !== undefined })
        : req.permits.length === 0
          ? []
          : checkPermits('--permit', req.permits);
  }
  if (req.ttlSeconds !== undefined && req.ttlSeconds > MAX_TTL_SECONDS) {
    throw new UsageError(`--ttl ${formatDuration(req.ttlSeconds)} is longer than the maximum of 87600h (10 years)`);
  }
  for (const [flag, v] of [['--valid-after', req.validAfter], ['--valid-before', req.validBefore]] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0 || v > LAST_WINDOW_SECOND)) throw new UsageError(`${flag} is out of range`);
  }
  if (req.validBefore !== undefined && req.ttlSeconds !== undefined) {
    throw new UsageError('--ttl and --valid-before both say when the certificate ends; give one', 'with --valid-after, --ttl counts from that time');
  }
  if (req.validAfter !== undefined && req.validBefore !== undefined) {
    if (req.validAfter >= req.validBefore) {
      throw new UsageError(`--valid-after ${formatTime(req.validAfter)} is not before --valid-before ${formatTime(req.validBefore)}`);
    }
    if (req.validBefore - req.validAfter > MAX_TTL_SECONDS) {
      throw new UsageError(`the window ${formatTime(req.validAfter)} to ${formatTime(req.validBefore)} is longer than the maximum of 87600h (10 years)`);
    }
  }
  return out;
}

/**
 * The checks that need the clock: a window that has already ended, or that would outlast the
 * TTL cap counted from now (a window starting later still ends within it), is refused.
 */
export function checkWindow(req: RequestFields, now: Date): void {
  const t = Math.floor(now.getTime() / 1000);
  if (req.validBefore !== undefined) {
    if (req.validBefore <= t) throw new UsageError(`--valid-before ${formatTime(req.validBefore)} is in the past: the certificate would never be valid`);
    if (req.validBefore - t > MAX_TTL_SECONDS) throw new UsageError(`--valid-before ${formatTime(req.validBefore)} is more than the maximum of 87600h (10 years) from now`);
  }
  if (req.validAfter !== undefined) {
    const end = req.validAfter + (req.ttlSeconds ?? (req.type === 'user' ? DEFAULT_USER_TTL_SECONDS : 0));
    if (req.validAfter - t > MAX_TTL_SECONDS || end - t > MAX_TTL_SECONDS) {
      throw new UsageError(`--valid-after ${formatTime(req.validAfter)} puts the end of the certificate more than the maximum of 87600h (10 years) from now`);
    }
    if (req.validBefore === undefined && req.ttlSeconds !== undefined && end <= t) {
      throw new UsageError(`--valid-after ${formatTime(req.validAfter)} with --ttl ${formatDuration(req.ttlSeconds)} ends in the past`);
    }
  }
}

/** The unsigned certificate for a checked request. */
export function certificateBody(
  req: CertificateRequest,
  ctx: { clusterName: string; serial: bigint; now: Date; nonce?: Buffer },
): CertificateBody {
  const now = BigInt(Math.floor(ctx.now.getTime() / 1000));
  const ttl = req.ttlSeconds ?? (req.type === 'user' ? DEFAULT_USER_TTL_SECONDS : undefined);
  // A fixed window is taken as given (no back-dating): the operator chose its edges.
  const start = req.validAfter === undefined ? now : BigInt(req.validAfter);
  const validBefore = req.validBefore !== undefined ? BigInt(req.validBefore) : ttl === undefined ? FOREVER : start + BigInt(ttl);
  const criticalOptions: CertOption[] = [];
  if (req.forceCommand !== undefined) criticalOptions.push({ name: 'force-command', value: req.forceCommand });
  if (req.sourceAddress !== undefined) criticalOptions.push({ name: 'source-address', value: req.sourceAddress.join(',') });
  return {
    key: req.publicKey,
    nonce: ctx.nonce ?? randomBytes(32),
    serial: ctx.serial,
    type: req.type,
    keyId: req.keyId,
    principals: req.principals,
    validAfter: req.validAfter === undefined ? now - BigInt(BACKDATE_SECONDS) : start,
    validBefore,
    criticalOptions,
    extensions: req.type === 'host' ? hostExtensions(ctx.clusterName, req.compat) : userExtensions(ctx.clusterName, req.principals, req.compat, req.permits ?? resolvePermits({ forceCommand: req.forceCommand !== undefined })),
  };
}
