import { loadCurrentState, trustedKeyRecords } from '../../ca/authority.js';
import { certificateTime, inspectCertificateText, unreadableFinding } from '../../ca/lint.js';
import type { CaFingerprints, Finding, LintContext } from '../../ca/lint.js';
import { TctlError } from '../../errors.js';
import { FOREVER, certificateSignatureAlgorithm } from '../../ssh/certificate.js';
import type { Certificate, CertOption } from '../../ssh/certificate.js';
import { fingerprint, parsePublicKeyBlob } from '../../ssh/keys.js';
import { FileRefusedError, fileError, readFileCapped } from '../../store/files.js';
import { CA_TYPES } from '../../store/state.js';
import type { GlobalOptions } from '../context.js';
import { resolveContext } from '../context.js';
import { stderr, stdout } from '../output.js';

export interface InspectOptions extends GlobalOptions {
  json?: boolean;
}

/** Far larger than any certificate (an RSA-16384 one is ~5 KiB); stops us slurping a wrong file. */
const MAX_CERT_FILE_BYTES = 64 * 1024;

interface Result {
  file: string;
  cert: Certificate | null;
  findings: Array<{ level: string; code: string; message: string }>;
  /** an X.509 certificate (auth-inspect-x509.ts) */
  x509?: { summary: string; json: Record<string, unknown> | null };
}

export async function authInspect(files: string[], opts: InspectOptions): Promise<void> {
  const now = new Date();
  const ctx: LintContext = { now, ...(await dataDirChecks(opts, now)) };
  const raw = files.map((file) => ({ file, data: readCertificateFile(file) }));
  // X.509 files (PEM "CERTIFICATE" blocks or DER) load the X.509 code; OpenSSH ones never do.
  const x509 = raw.some((r) => r.data instanceof Buffer && looksLikeX509(r.data)) ? await import('./auth-inspect-x509.js') : undefined;
  const known = x509 ? x509.knownCas((await resolveContext(opts)).store, now) : undefined;
  const results: Result[] = raw.flatMap(({ file, data }): Result[] => {
    if (!(data instanceof Buffer)) return [{ file, cert: null, findings: [data as Finding] }];
    if (x509 && looksLikeX509(data)) {
      return x509.inspectX509(file, data, known, now, printable).map((r) => ({ file: r.file, cert: null, findings: r.findings, ...(r.json ? { x509: r } : {}) }));
    }
    return [{ file, ...inspectCertificateText(data.toString('utf8'), ctx) }];
  });

  if (opts.json) {
    stdout(JSON.stringify(results.map((r) => (r.x509 ? { file: r.file, certificate: r.x509.json, findings: r.findings } : toJson(r))), null, 2));
  } else {
    const blocks: string[] = [];
    for (const r of results) {
      if (r.x509) blocks.push(r.x509.summary);
      else if (r.cert) blocks.push(humanSummary(r.file, r.cert, r.findings as Finding[]));
      // With a single file, the failure below says it; with several, each unreadable one is named here.
      else if (files.length > 1) stderr(`tctl: error: ${printable(r.file)}: ${printable(r.findings[0]!.message)}`);
    }
    if (blocks.length > 0) stdout(blocks.join('\n'));
  }

  const failed = results.filter((r) => r.findings.some((f) => f.level === 'error'));
  if (failed.length === 0) return;
  if (files.length === 1 && results.length === 1 && failed[0]!.cert === null && !failed[0]!.x509) {
    throw new TctlError(`${printable(failed[0]!.file)}: ${printable(failed[0]!.findings[0]!.message)}`);
  }
  const n = failed.length;
  const what = files.length === 1 ? '1 certificate has errors' : `${n} of ${files.length} certificates ${n === 1 ? 'has' : 'have'} errors`;
  throw new TctlError(what, { hint: 'fix or re-issue them; warnings alone do not fail "tctl auth inspect"' });
}

/** A PEM certificate block, or DER (a SEQUENCE tag): OpenSSH certificates are text lines. */
function looksLikeX509(data: Buffer): boolean {
  return data[0] === 0x30 || data.subarray(0, 4096).toString('latin1').includes('-----BEGIN CERTIFICATE-----');
}

/** The file's bytes, or why it cannot be read (the file name is added where it is printed). */
function readCertificateFile(file: string): Buffer | Finding {
  try {
    return readFileCapped(file, MAX_CERT_FILE_BYTES);
  } catch (err) {
    if (err instanceof FileRefusedError) return unreadableFinding(err.problem);
    const prefix = `cannot read ${file}: `;
    const message = fileError('cannot read', file, err).message;
    return unreadableFinding(message.startsWith(prefix) ? `cannot read: ${message.slice(prefix.length)}` : message);
  }
}

/**
 * The trust and revocation checks need the data dir, which inspect can do without: certificates
 * from elsewhere are still worth linting. Anything but "not initialised" (a damaged state, a
 * bad --config) still fails, so a broken CA is never mistaken for "no CA".
 */
async function dataDirChecks(opts: InspectOptions, now: Date): Promise<Partial<LintContext>> {
  const { store } = await resolveContext(opts);
  if (!store.isInitialised()) {
    stderr(`tctl: note: ${store.describe()} is not initialised; not checking which CA signed the certificates or whether they are revoked`);
    return {};
  }
  const state = loadCurrentState(store, () => now);
  const trusted = {} as CaFingerprints;
  const untrusted = {} as CaFingerprints;
  for (const t of CA_TYPES) {
    const a = state.authorities[t];
    trusted[t] = trustedKeyRecords(a).map((k) => k.fingerprint);
    untrusted[t] = [a.current, a.next, ...a.retired].flatMap((k) => (k && !trusted[t].includes(k.fingerprint) ? [k.fingerprint] : []));
  }
  const { RevocationIndex } = await import('../../store/revocations.js');
  let index: InstanceType<typeof RevocationIndex> | undefined;
  return {
    trustedCaFingerprints: trusted,
    untrustedCaFingerprints: untrusted,
    isRevoked: (cert) => (index ??= new RevocationIndex(store.readRevocations())).isCertificateRevoked(cert),
  };
}

/** Certificate fields can hold anything; never let them move the cursor or fake a line on a terminal. */
function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function validity(cert: Certificate): string {
  if (cert.validAfter === 0n && cert.validBefore === FOREVER) return 'forever';
  if (cert.validAfter === 0n) return `before ${certificateTime(cert.validBefore)}`;
  if (cert.validBefore === FOREVER) return `after ${certificateTime(cert.validAfter)}`;
  return `from ${certificateTime(cert.validAfter)} to ${certificateTime(cert.validBefore)}`;
}

function signingCa(cert: Certificate) {
  return {
    keyType: parsePublicKeyBlob(cert.signatureKey).key.type,
    fingerprint: fingerprint(cert.signatureKey),
    algorithm: certificateSignatureAlgorithm(cert),
  };
}

/** Laid out like `ssh-keygen -L`, then one line per finding. */
function humanSummary(file: string, cert: Certificate, findings: Finding[]): string {
  const ca = signingCa(cert);
  const list = (items: string[]) => (items.length === 0 ? ' (none)' : '\n' + items.map((i) => `                ${printable(i)}`).join('\n'));
  const options = (o: CertOption[]) => o.map((x) => (x.value === '' ? x.name : `${x.name} ${x.value}`));
  const lines = [
    `${printable(file)}:`,
    `        Type: ${cert.certType} ${cert.type} certificate`,
    `        Public key: ${cert.key.type} ${fingerprint(cert.key.blob)}`,
    `        Signing CA: ${ca.keyType} ${ca.fingerprint} (using ${printable(ca.algorithm)})`,
    `        Key ID: ${printable(JSON.stringify(cert.keyId))}`,
    `        Serial: ${cert.serial}`,
    `        Valid: ${validity(cert)}`,
    `        Principals:${list(cert.principals)}`,
    `        Critical Options:${list(options(cert.rawCriticalOptions))}`,
    `        Extensions:${list(options(cert.rawExtensions))}`,
    ...findings.map((f) => `${f.level}: ${f.code}: ${printable(f.message)}`),
  ];
  return lines.join('\n') + '\n';
}

function toJson(r: Result) {
  const c = r.cert;
  return {
    file: r.file,
    certificate:
      c === null
        ? null
        : {
            certType: c.certType,
            type: c.type,
            keyType: c.key.type,
            fingerprint: fingerprint(c.key.blob),
            signingCa: signingCa(c),
            keyId: c.keyId,
            serial: c.serial.toString(),
            validAfter: certificateTime(c.validAfter),
            validBefore: certificateTime(c.validBefore),
            principals: c.principals,
            criticalOptions: c.rawCriticalOptions,
            extensions: c.rawExtensions,
          },
    findings: r.findings,
  };
}
