import * as fs from 'node:fs';
import * as path from 'node:path';
import { issueCertificates } from '../../ca/authority.js';
import type { IssuedCertificate } from '../../ca/authority.js';
import { formatDuration, parseDuration } from '../../ca/duration.js';
import { COMPAT_MODES, DROPPED_BY_FORCE_COMMAND, PERMITS, checkPermits, resolvePermits } from '../../ca/extensions.js';
import type { Compat, Permit } from '../../ca/extensions.js';
import { checkRequest, checkWindow } from '../../ca/request.js';
import { parseTime } from '../../ca/validity.js';
import type { CertificateRequest, RequestFields } from '../../ca/request.js';
import { hasControlCharacters, splitList } from '../../ca/principals.js';
import { TctlError, UsageError, allowedValues, oneOf } from '../../errors.js';
import { certificateFileText } from '../../formats/certificate-file.js';
import { KEY_TYPES, generatePrivateKey, openSshPrivateKey, publicKeyLine, sshPublicKey } from '../../ssh/keys.js';
import type { KeyObject } from 'node:crypto';
import { discardReserved, outputExists, publishReserved, reserveFile } from '../../store/files.js';
import type { ReservedFile } from '../../store/files.js';
import { loadState } from '../../store/state.js';
import type { GlobalOptions } from '../context.js';
import { resolveContext } from '../context.js';
import { stderr, stdout, stdoutJson } from '../output.js';
import { readPublicKeyFile } from '../input.js';
import { canPrompt, confirm } from '../prompt.js';

/** openssh, and the TLS formats of auth-sign-tls.ts (Teleport's names). */
export const SIGN_FORMATS = ['openssh', 'tls', 'db', 'redis', 'elasticsearch', 'scylla', 'mongodb', 'cockroachdb'] as const;

export interface SignOptions extends GlobalOptions {
  host?: string;
  user?: string;
  principals?: string;
  format?: string;
  out?: string;
  ttl?: string;
  keyType?: string;
  publicKey?: string;
  overwrite?: boolean;
  compat?: string;
  forceCommand?: string;
  sourceAddress?: string;
  batch?: string;
  outDir?: string;
  keepGoing?: boolean;
  permit?: string;
  validAfter?: string;
  validBefore?: string;
  json?: boolean;
  addToAgent?: boolean;
  // commander's negatable flags: true unless --no-<name> was given
  agentForwarding?: boolean;
  portForwarding?: boolean;
  pty?: boolean;
  userRc?: boolean;
  x11Forwarding?: boolean;
}

const NO_FLAG_KEYS: Record<Permit, 'agentForwarding' | 'portForwarding' | 'pty' | 'userRc' | 'x11Forwarding'> = {
  'agent-forwarding': 'agentForwarding',
  'port-forwarding': 'portForwarding',
  pty: 'pty',
  'user-rc': 'userRc',
  'x11-forwarding': 'x11Forwarding',
};

/** The --no-* flags given, as permit names. */
export function deniedPermits(opts: SignOptions): Permit[] {
  return PERMITS.filter((p) => opts[NO_FLAG_KEYS[p]] === false);
}

export async function authSign(opts: SignOptions): Promise<void> {
  // Everything on the command line is checked before the data dir or any file is touched.
  const format = opts.format ?? 'openssh';
  if (format !== 'openssh' && (SIGN_FORMATS as readonly string[]).includes(format)) {
    const { authSignTls } = await import('./auth-sign-tls.js');
    return authSignTls(opts, format);
  }
  if (opts.batch !== undefined || opts.outDir !== undefined || opts.keepGoing) return signBatch(opts);
  // Teleport prints the same words whether neither or both are given; scripts grep for them.
  if ((opts.host === undefined) === (opts.user === undefined)) {
    throw new UsageError('--user or --host must be specified', 'give exactly one, e.g. tctl auth sign --host=api.example.com or tctl auth sign --user=joe');
  }
  const compat = checkFormatAndCompat(opts);
  const keyType = oneOf('--key-type', opts.keyType ?? 'ed25519', KEY_TYPES);
  const ttlSeconds = opts.ttl === undefined ? undefined : parseDuration('--ttl', opts.ttl);
  const validAfter = opts.validAfter === undefined ? undefined : parseTime('--valid-after', opts.validAfter);
  const validBefore = opts.validBefore === undefined ? undefined : parseTime('--valid-before', opts.validBefore);
  if (opts.principals !== undefined && opts.host !== undefined) {
    throw new UsageError('--principals applies to --user; for host certificates list the names in --host');
  }
  if (opts.host !== undefined && (opts.forceCommand !== undefined || opts.sourceAddress !== undefined)) {
    // ssh refuses a host certificate with any critical option (sshkey_cert_check_host).
    throw new UsageError('--force-command and --source-address apply to user certificates only', 'ssh refuses host certificates with critical options');
  }
  if (opts.addToAgent && opts.host !== undefined) throw new UsageError('--add-to-agent applies to --user', 'an agent holds the keys a user logs in with');
  const deny = deniedPermits(opts);
  if (opts.host !== undefined && (opts.permit !== undefined || deny.length > 0)) {
    throw new UsageError(`${opts.permit !== undefined ? '--permit' : `--no-${deny[0]}`} applies to --user; sshd ignores permit-* extensions on host certificates`);
  }

  let fields: RequestFields;
  if (opts.host !== undefined) {
    const principals = splitList('--host', opts.host);
    fields = { type: 'host', principals, keyId: principals[0]!, ttlSeconds, validAfter, validBefore, compat };
  } else {
    const user = opts.user!;
    if (user === '') throw new UsageError('--user is empty');
    const principals = opts.principals !== undefined ? splitList('--principals', opts.principals) : [user];
    fields = {
      type: 'user',
      principals,
      keyId: user,
      ttlSeconds,
      validAfter,
      validBefore,
      compat,
      forceCommand: opts.forceCommand,
      sourceAddress: opts.sourceAddress === undefined ? undefined : splitList('--source-address', opts.sourceAddress),
      permits: resolvePermits({
        permit: opts.permit === undefined ? undefined : checkPermits('--permit', splitList('--permit', opts.permit)),
        deny,
        forceCommand: opts.forceCommand !== undefined,
      }),
    };
  }
  fields = checkRequest(fields);
  checkWindow(fields, new Date());

  const out = outputBase(opts, fields.keyId);
  const { store } = await resolveContext(opts);
  loadState(store); // fail early on an uninitialised or damaged data dir
  const agent = opts.addToAgent ? await agentTarget(opts, out) : undefined;

  let privateKey: KeyObject | undefined;
  let publicKey: CertificateRequest['publicKey'];
  if (opts.publicKey !== undefined) {
    publicKey = await readPublicKeyFile('--public-key', opts.publicKey);
  } else {
    privateKey = generatePrivateKey(keyType);
    publicKey = sshPublicKey(privateKey);
  }
  const request: CertificateRequest = { ...fields, publicKey };

  // ssh-keygen's names, which ssh and sshd look for by themselves: KEY, KEY.pub, KEY-cert.pub.
  const certFile = `${out}-cert.pub`;
  const targets = privateKey ? [out, `${out}.pub`, certFile] : [certFile];
  const overwrite = await checkTargets(targets, Boolean(opts.overwrite));

  // The outputs exist (as empty temp files) before a serial is taken, and the private key is
  // on disk: a path that cannot be written fails here, with nothing issued or logged.
  const reserved: ReservedFile[] = [];
  const published: string[] = [];
  let issued: IssuedCertificate | undefined;
  try {
    for (const t of targets) reserved.push(reserveFile(t, t === out ? 0o600 : 0o644));
    if (privateKey) {
      reserved[0]!.fill(openSshPrivateKey(privateKey, request.keyId));
      reserved[1]!.fill(publicKeyLine(publicKey.type, publicKey.blob, request.keyId) + '\n');
    }
    [issued] = issueCertificates(store, [request], {
      // Runs after the issuance log is appended, inside the audited session: a failure here is
      // audited as an error naming the serial.
      deliver: ([issued]) => {
        reserved.at(-1)!.fill(certificateFileText(request.publicKey, issued!.certificate, request.keyId));
        publishReserved(reserved, overwrite, published);
      },
    });
  } catch (err) {
    // Another process may have created one of the files since we checked, or the disk filled:
    // leave nothing half-written.
    discardReserved(reserved, published, overwrite);
    throw err;
  }
  let agentLifetime: number | undefined;
  if (agent) {
    const r = issued!.record;
    // Until the certificate ends, counted from now (a window may start later; the key waits in the agent).
    const end = r.validBefore === 'forever' ? undefined : Math.floor(Date.parse(r.validBefore) / 1000);
    agentLifetime = end === undefined ? undefined : Math.max(1, end - Math.floor(Date.now() / 1000));
    if (agentLifetime === undefined) throw new TctlError('--add-to-agent: the certificate never expires, so it has no lifetime to give the agent');
    agent.add(agentLifetime);
    stderr(`Added ${agent.keyFile} and its certificate to the ssh-agent for ${formatDuration(agentLifetime)} (until ${r.validBefore})`);
  }
  if (opts.json) {
    const r = issued!.record;
    stdoutJson({ ...r, ...(fields.type === 'user' ? { permits: fields.permits } : {}), files: targets, ...(agentLifetime !== undefined ? { agentLifetimeSeconds: agentLifetime } : {}) });
  } else {
    stdout(`The credentials have been written to ${targets.join(', ')}`);
  }
  if (fields.forceCommand !== undefined && opts.permit === undefined) stderr(forceCommandNote(fields.permits ?? []));
}

/** Said whenever force-command changed the default, so nobody is surprised that a tunnel is refused. */
export function forceCommandNote(permits: readonly Permit[]): string {
  return (
    `tctl: note: a --force-command certificate gets no ${DROPPED_BY_FORCE_COMMAND.join(', ')} unless --permit lists them ` +
    `(ssh -N -L would open a tunnel without running the command); this one permits ${permits.length === 0 ? 'nothing' : permits.join(', ')}`
  );
}


/**
 * The private key ssh-add will load (with KEY-cert.pub beside it), checked with the agent before
 * anything is signed. A generated key is written to out; with --public-key the private half must
 * already sit beside it, and the certificate be written there too.
 */
async function agentTarget(opts: SignOptions, out: string): Promise<{ keyFile: string; add: (lifetime: number) => void }> {
  if (opts.publicKey !== undefined) {
    const beside = opts.publicKey.endsWith('.pub') ? opts.publicKey.slice(0, -4) : undefined;
    if (beside === undefined || beside !== out || !fs.existsSync(beside)) {
      throw new UsageError('--add-to-agent with --public-key=KEY.pub needs the private key KEY beside it and the certificate written there (no --out)', 'or sign without --public-key: tctl generates the key pair and loads it');
    }
  }
  const { addToAgent, checkAgent } = await import('../agent.js');
  const sock = checkAgent();
  return { keyFile: out, add: (lifetime) => addToAgent(sock, out, lifetime) };
}

/**
 * Where the files go, without the -cert.pub suffix. --out as given, less a ".pub" ssh-keygen
 * would have dropped (x.pub gives x-cert.pub, never x.pub-cert.pub); with --public-key and no
 * --out, beside the key, as ssh-keygen -s writes it; else the key id in the current directory.
 */
function outputBase(opts: SignOptions, keyId: string): string {
  if (opts.out !== undefined) {
    checkOutName(opts.out);
    if (!opts.out.endsWith('.pub')) return opts.out;
    if (opts.publicKey === undefined) {
      throw new UsageError(`--out names the private key, not "${opts.out}"`, `give --out=${opts.out.slice(0, -4)}: tctl writes ${opts.out.slice(0, -4)}, ${opts.out} and ${opts.out.slice(0, -4)}-cert.pub`);
    }
    const base = opts.out.slice(0, -4);
    checkOutName(base);
    return base;
  }
  if (opts.publicKey !== undefined) {
    if (opts.publicKey.endsWith('.pub') && !opts.publicKey.endsWith('/.pub')) return opts.publicKey.slice(0, -4);
    // ssh-keygen appends -cert.pub to any other file name; a pipe or device has no "beside".
    let isFile = false;
    try {
      isFile = fs.statSync(opts.publicKey).isFile();
    } catch {
      // unreadable or missing: reading the key says why, in a moment
    }
    if (isFile) return opts.publicKey;
  }
  return keyId;
}

/** Teleport's wording for formats it has and we do not; returns the --compat mode. */
function checkFormatAndCompat(opts: SignOptions): Compat {
  const format = opts.format ?? 'openssh';
  if (!(SIGN_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`invalid --format flag "${format}"; allowed values: ${allowedValues(SIGN_FORMATS)}`);
  }
  return oneOf('--compat', opts.compat ?? 'standard', COMPAT_MODES);
}

export function checkOutName(out: string): void {
  if (out === '') throw new UsageError('--out is empty');
  if (hasControlCharacters(out)) throw new UsageError(`invalid --out ${JSON.stringify(out)}: contains control characters`);
  if (out.endsWith('/') || out.endsWith(path.sep)) throw new UsageError(`invalid --out "${out}": give a file name, not a directory`);
}

async function signBatch(opts: SignOptions): Promise<void> {
  if (opts.batch === undefined) throw new UsageError('--out-dir and --keep-going need --batch=FILE');
  const conflicting = (['host', 'user', 'principals', 'out', 'ttl', 'publicKey', 'forceCommand', 'sourceAddress', 'permit', 'validAfter', 'validBefore', 'addToAgent'] as const).filter((k) => opts[k] !== undefined);
  const deny = deniedPermits(opts);
  if (deny.length > 0) throw new UsageError(`--no-${deny[0]} cannot be used with --batch; put "permit": [...] in each request line`);
  if (conflicting.length > 0) {
    const flag = '--' + conflicting[0]!.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
    throw new UsageError(`${flag} cannot be used with --batch; put it in each request line`);
  }
  const compat = checkFormatAndCompat(opts);
  const { authSignBatch } = await import('./auth-sign-batch.js');
  return authSignBatch({ ...opts, batch: opts.batch, compat });
}

/**
 * Refuses to replace anything unless asked. Directories are never replaced; a symlink counts as
 * existing (it is replaced itself, never written through). Returns whether to overwrite.
 */
export async function checkTargets(targets: string[], overwrite: boolean): Promise<boolean> {
  const existing: string[] = [];
  for (const t of targets) {
    if (outputExists(t)) existing.push(t);
    else if (!fs.existsSync(path.dirname(t))) throw new TctlError(`cannot write ${t}: directory ${path.dirname(t)} does not exist`);
  }
  if (existing.length === 0 || overwrite) return overwrite;
  const list = existing.join(', ');
  if (canPrompt()) {
    if (await confirm(`Destination file(s) ${list} exist. Overwrite?`)) return true;
    throw new TctlError(`not overwriting destination files ${list}`);
  }
  throw new TctlError(`destination file(s) ${list} exist`, { hint: 'use --overwrite to replace them, or choose another --out' });
}
