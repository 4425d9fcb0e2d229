// Lints for a decoded certificate: what OpenSSH (or a strict parser such as Go's x/crypto/ssh)
// would refuse is an error; what works but is risky or a sign of a mis-issued cert is a warning.
// Pure: the clock, the trusted CA keys and the revocation check come from the caller.
import { CertificateInputError, parseCertificateText } from '../formats/certificate-file.js';
import { FOREVER, certificateSignatureAlgorithm } from '../ssh/certificate.js';
import type { Certificate, CertOption, CertType } from '../ssh/certificate.js';
import { fingerprint } from '../ssh/keys.js';
import { publicKeyValueProblem } from '../ssh/key-values.js';
import { BACKDATE_SECONDS } from './request.js';
import { isUserOnlyExtension } from './extensions.js';

export const LINT_CODES = [
  'unreadable',
  'invalid-key',
  'invalid-ca-key',
  'sha1-signature',
  'empty-principals',
  'wildcard-principal',
  'user-extension-on-host-cert',
  'unsorted-extensions',
  'duplicate-extension',
  'unsorted-critical-options',
  'duplicate-critical-option',
  'unknown-critical-option',
  'critical-option-on-host-cert',
  'infinite-user-cert',
  'force-command-permits-forwarding',
  'expired',
  'not-yet-valid',
  'untrusted-ca',
  'revoked',
] as const;
export type LintCode = (typeof LINT_CODES)[number];

export interface Finding {
  level: 'error' | 'warning';
  code: LintCode;
  message: string;
}

/** Fingerprints (SHA256:...) of CA keys, per certificate type. */
export type CaFingerprints = Record<CertType, string[]>;

export interface LintContext {
  now: Date;
  /** keys OpenSSH trusts now (what `auth export` lists); undefined when there is no data dir */
  trustedCaFingerprints?: CaFingerprints;
  /** our keys that are not trusted now (retired, or incoming and not yet trusted), to name them in untrusted-ca */
  untrustedCaFingerprints?: CaFingerprints;
  isRevoked?: (cert: Certificate) => boolean;
}

/** The critical options sshd implements (auth-options.c); any other makes it refuse the certificate. */
export const KNOWN_CRITICAL_OPTIONS = ['force-command', 'source-address', 'verify-required'] as const;

/** What a force-command certificate should not permit (the extensions tctl leaves out by default). */
const FORCE_COMMAND_LOOPHOLES = ['permit-X11-forwarding', 'permit-agent-forwarding', 'permit-port-forwarding', 'permit-user-rc'];

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
const quoted = (names: string[]): string => names.map((n) => JSON.stringify(n)).join(', ');
const plural = (n: number, one: string, many: string): string => (n === 1 ? one : many);

/** A file that could not be read or decoded, as a finding, so it fails `auth inspect` like an error-level lint. */
export function unreadableFinding(reason: string): Finding {
  return { level: 'error', code: 'unreadable', message: reason };
}

export type Inspection = { cert: Certificate; findings: Finding[] } | { cert: null; findings: [Finding] };

/**
 * Decodes the text of a `*-cert.pub` file (signature checked) and lints it. Input that is not a
 * valid certificate (a plain key, a private key, bad base64, truncated, a bad signature) becomes
 * one `unreadable` finding instead of an exception.
 */
export function inspectCertificateText(text: string, ctx: LintContext): Inspection {
  let cert: Certificate;
  try {
    cert = parseCertificateText(text);
  } catch (err) {
    if (err instanceof CertificateInputError) return { cert: null, findings: [unreadableFinding(err.message)] };
    throw err;
  }
  return { cert, findings: lintCertificate(cert, ctx) };
}

/** ISO time of a certificate timestamp, "forever" for valid_before = 2^64-1. */
export function certificateTime(seconds: bigint): string {
  if (seconds === FOREVER) return 'forever';
  // Beyond what Date can represent (year 275760); only a crafted cert gets here.
  if (seconds > 8_640_000_000_000n) return `unix:${seconds}`;
  return new Date(Number(seconds) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

export function lintCertificate(cert: Certificate, ctx: LintContext): Finding[] {
  const findings: Finding[] = [];
  const error = (code: LintCode, message: string) => findings.push({ level: 'error', code, message });
  const warning = (code: LintCode, message: string) => findings.push({ level: 'warning', code, message });
  const host = cert.type === 'host';

  // The decoder takes any well-formed key so that such a certificate can still be shown; this is where it fails.
  const keyProblem = publicKeyValueProblem(cert.key.blob);
  if (keyProblem !== undefined) error('invalid-key', `the certified key is refused: ${keyProblem}`);
  const caProblem = publicKeyValueProblem(cert.signatureKey);
  if (caProblem !== undefined) error('invalid-ca-key', `the signing CA key is refused: ${caProblem}; its signature proves nothing`);

  if (certificateSignatureAlgorithm(cert) === 'ssh-rsa') {
    error('sha1-signature', 'the CA signed with ssh-rsa (SHA-1), which OpenSSH 8.8 and later refuse by default (CASignatureAlgorithms); re-sign with rsa-sha2-512');
  }

  if (cert.principals.length === 0) {
    error(
      'empty-principals',
      host
        ? 'no principals: OpenSSH before 10.3 accepts this host certificate for any host name, 10.3 and later refuse it'
        : 'no principals: sshd accepts this user certificate as any user through an authorized_keys cert-authority line without principals= (TrustedUserCAKeys and OpenSSH 10.3 and later refuse it)',
    );
  }
  const wild = cert.principals.filter((p) => /[*?]/.test(p));
  if (wild.length > 0) {
    if (host) {
      // OpenSSH <= 10.2 compares host principals with strcmp; 10.3 started matching them as patterns.
      error('wildcard-principal', `${plural(wild.length, 'principal', 'principals')} ${quoted(wild)} with a wildcard: OpenSSH before 10.3 matches host principals literally, so no host name matches`);
    } else {
      warning('wildcard-principal', `${plural(wild.length, 'principal', 'principals')} ${quoted(wild)} with a wildcard: sshd matches user principals literally, so only a login of exactly that name matches`);
    }
  }

  if (host) {
    const userOnly = unique(cert.rawExtensions.map((o) => o.name).filter(isUserOnlyExtension));
    if (userOnly.length > 0) {
      warning('user-extension-on-host-cert', `user-only ${plural(userOnly.length, 'extension', 'extensions')} ${quoted(userOnly)} on a host certificate: sshd ignores ${userOnly.length === 1 ? 'it' : 'them'}, so the certificate was probably issued with user options`);
    }
  }

  checkOrder(cert.rawExtensions, 'extension', 'unsorted-extensions', 'duplicate-extension', error);
  checkOrder(cert.rawCriticalOptions, 'critical option', 'unsorted-critical-options', 'duplicate-critical-option', error);

  const critical = unique(cert.rawCriticalOptions.map((o) => o.name));
  if (host) {
    if (critical.length > 0) {
      // sshkey_cert_check_host: ssh refuses a host certificate with any critical option.
      error('critical-option-on-host-cert', `critical ${plural(critical.length, 'option', 'options')} ${quoted(critical)} on a host certificate: ssh refuses host certificates with critical options`);
    }
  } else {
    const unknown = critical.filter((n) => !(KNOWN_CRITICAL_OPTIONS as readonly string[]).includes(n));
    if (unknown.length > 0) {
      error('unknown-critical-option', `unknown critical ${plural(unknown.length, 'option', 'options')} ${quoted(unknown)}: sshd refuses certificates with critical options it does not implement`);
    }
  }

  if (!host && critical.includes('force-command')) {
    // -N/-L/-W/-R and agent forwarding never open a session, so the forced command never runs.
    const loose = FORCE_COMMAND_LOOPHOLES.filter((n) => cert.rawExtensions.some((o) => o.name === n));
    if (loose.length > 0) {
      warning(
        'force-command-permits-forwarding',
        `force-command with ${quoted(loose)}: forwarding opens no session, so "ssh -N -L" (or -W, -R, -A) gets through without running the command${loose.includes('permit-user-rc') ? ', and ~/.ssh/rc runs before it' : ''}; re-sign without them (tctl auth sign --force-command=... gives only permit-pty)`,
      );
    }
  }

  const now = BigInt(Math.floor(ctx.now.getTime() / 1000));
  if (!host && cert.validBefore === FOREVER) {
    warning('infinite-user-cert', 'the user certificate never expires: a leaked key stays usable until it is revoked');
  }
  if (cert.validBefore !== FOREVER && now >= cert.validBefore) {
    error('expired', `expired at ${certificateTime(cert.validBefore)}`);
  } else if (cert.validAfter > now + BigInt(BACKDATE_SECONDS)) {
    // We back-date by a minute for clock skew, so a validAfter up to a minute ahead is normal.
    warning('not-yet-valid', `not valid until ${certificateTime(cert.validAfter)}`);
  }

  if (ctx.trustedCaFingerprints) {
    const ca = fingerprint(cert.signatureKey);
    if (!ctx.trustedCaFingerprints[cert.type].includes(ca)) error('untrusted-ca', untrustedReason(cert.type, ca, ctx));
  }

  if (ctx.isRevoked?.(cert) === true) {
    error('revoked', `revoked (serial ${cert.serial}, key id ${JSON.stringify(cert.keyId)})`);
  }

  // Errors first, then warnings, each in the order above.
  return [...findings.filter((f) => f.level === 'error'), ...findings.filter((f) => f.level === 'warning')];
}

function untrustedReason(type: CertType, ca: string, ctx: LintContext): string {
  const other: CertType = type === 'user' ? 'host' : 'user';
  if (ctx.untrustedCaFingerprints?.[type].includes(ca)) {
    return `signed by ${ca}, a ${type} CA key of this cluster that is not trusted now (retired by a rotation, or not yet trusted)`;
  }
  if (ctx.trustedCaFingerprints?.[other].includes(ca) || ctx.untrustedCaFingerprints?.[other].includes(ca)) {
    return `signed by ${ca}, a ${other} CA key of this cluster, not by the ${type} CA`;
  }
  return `signed by ${ca}, which is not a CA key of this cluster`;
}

/** PROTOCOL.certkeys: names strictly increasing bytewise, so both unsorted and repeated names are errors. */
function checkOrder(
  options: CertOption[],
  what: string,
  unsortedCode: LintCode,
  duplicateCode: LintCode,
  error: (code: LintCode, message: string) => void,
): void {
  const names = options.map((o) => o.name);
  const outOfOrder: string[] = [];
  for (let i = 1; i < names.length; i++) {
    if (byteOrder(names[i - 1]!, names[i]!) > 0) outOfOrder.push(`${JSON.stringify(names[i - 1])} before ${JSON.stringify(names[i])}`);
  }
  if (outOfOrder.length > 0) {
    error(unsortedCode, `${what}s are not sorted by name (${outOfOrder.join(', ')}): PROTOCOL.certkeys requires it and strict parsers such as Go's x/crypto/ssh refuse the certificate`);
  }
  const repeated = unique(names.filter((n, i) => names.indexOf(n) !== i));
  if (repeated.length > 0) {
    error(duplicateCode, `${what} ${quoted(repeated)} ${repeated.length === 1 ? 'appears' : 'appear'} more than once: PROTOCOL.certkeys allows each name once`);
  }
}

function unique(names: string[]): string[] {
  return [...new Set(names)];
}
