import { hasControlCharacters } from '../../ca/principals.js';
import { parseAnySerial, revoke } from '../../ca/revocation.js';
import type { RevokeTarget } from '../../ca/revocation.js';
import { UsageError, oneOf } from '../../errors.js';
import { CA_TYPES } from '../../store/state.js';
import type { GlobalOptions } from '../context.js';
import { resolveContext } from '../context.js';
import { fileError, readFileCapped } from '../../store/files.js';
import { MAX_INPUT_FILE_BYTES, readCertificateFile, readPublicKeyFile } from '../input.js';
import { stderr, stdout, stdoutJson } from '../output.js';
import { loadState } from '../../store/state.js';
import type { CaType, State } from '../../store/state.js';
import type { RevocationRecord } from '../../store/revocations.js';

export interface RevokeOptions extends GlobalOptions {
  serial?: string;
  keyId?: string;
  cert?: string;
  publicKey?: string;
  reason?: string;
  type?: string;
  json?: boolean;
}

export async function authRevoke(opts: RevokeOptions): Promise<void> {
  const given = (['serial', 'keyId', 'cert', 'publicKey'] as const).filter((k) => opts[k] !== undefined);
  if (given.length !== 1) {
    throw new UsageError(
      given.length === 0 ? 'one of --serial, --key-id, --cert or --public-key must be specified' : 'give only one of --serial, --key-id, --cert or --public-key',
      'e.g. tctl auth revoke --serial=42 --reason="laptop lost"',
    );
  }
  if (opts.type !== undefined && opts.keyId === undefined) {
    throw new UsageError('--type applies to --key-id only', 'serials, certificate files and public keys already say which CA they belong to');
  }
  if (opts.reason !== undefined && hasControlCharacters(opts.reason)) throw new UsageError('--reason must be a single line of text');
  let target: RevokeTarget | { by: 'cert-file'; file: string };
  if (opts.serial !== undefined) {
    target = { by: 'any-serial', ...parseAnySerial(opts.serial) };
  } else if (opts.keyId !== undefined) {
    if (opts.keyId === '') throw new UsageError('--key-id is empty');
    const caType = opts.type === undefined ? undefined : oneOf('--type', opts.type, CA_TYPES);
    target = caType === undefined ? { by: 'key-id', keyId: opts.keyId } : { by: 'key-id', keyId: opts.keyId, caType };
  } else if (opts.cert !== undefined && isX509File(opts.cert)) {
    target = { by: 'cert-file', file: opts.cert };
  } else if (opts.cert !== undefined) {
    target = { by: 'cert', cert: readCertificateFile('--cert', opts.cert), file: opts.cert };
  } else {
    target = { by: 'public-key', key: await readPublicKeyFile('--public-key', opts.publicKey!) };
  }
  const { store } = await resolveContext(opts);
  if (target.by === 'cert-file') {
    // An X.509 certificate: matched to the TLS CA key that signed it (src/x509 loads only here).
    const { x509RevokeTarget } = await import('../../ca/tls-revoke.js');
    target = x509RevokeTarget(store, opts.cert!, readX509Input(opts.cert!));
  }
  const { record, added, neverIssued } = revoke(store, target, { reason: opts.reason });
  const what =
    record.kind === 'serial'
      ? `certificate serial ${record.serial} (CA ${record.caFingerprint})`
      : record.kind === 'key-id'
        ? `key id "${record.keyId}" for the ${record.caType} CA`
        : record.kind === 'x509-serial'
          ? `TLS certificate serial ${record.serial} (${record.ca.replace('_', '-')} CA ${record.caFingerprint})`
          : `public key ${record.keyFingerprint}`;
  const notes: string[] = [];
  if (neverIssued && record.kind === 'key-id') notes.push(`No ${record.caType} certificate with key id "${record.keyId}" has been issued; tctl will refuse to sign one.`);
  let deploy: Deploy[];
  if (record.kind === 'x509-serial') {
    const ca = record.ca.replace('_', '-');
    deploy = [{ to: 'TLS servers', command: `tctl auth crl --type=${ca} --format=pem -o ${ca}.crl`, config: 'PostgreSQL: ssl_crl_file' }];
  } else {
    deploy = sshDeploy(revokedSides(record, loadState(store)));
  }
  notes.push(...deploy.map((d) => `Deploy the new list to ${d.to}: ${d.command}  (${d.config})`));
  if (opts.json) {
    stdoutJson({ added, revocation: record, ...(neverIssued ? { neverIssued: true } : {}), deploy });
  } else {
    stdout(added ? `Revoked ${what}.` : `Already revoked: ${what}.`);
  }
  for (const n of notes) stderr(n);
}

interface Deploy {
  to: string;
  command: string;
  config: string;
}

/**
 * Which side checks the revocation: sshd reads RevokedKeys only for the keys users log in with;
 * ssh checks host keys and host certificates against RevokedHostKeys (or @revoked lines in
 * known_hosts). A host certificate revoked only in sshd's list would still be accepted.
 */
function revokedSides(record: RevocationRecord, state: State): CaType[] {
  if (record.kind === 'key-id') return record.caType ? [record.caType] : [...CA_TYPES];
  if (record.kind === 'serial') {
    const owner = CA_TYPES.filter((t) => {
      const a = state.authorities[t];
      return [a.current, a.next, ...a.retired].some((k) => k?.fingerprint === record.caFingerprint);
    });
    return owner.length > 0 ? owner : [...CA_TYPES];
  }
  // A public key may be a user's or a host's: both lists carry it.
  return [...CA_TYPES];
}

function sshDeploy(sides: CaType[]): Deploy[] {
  return sides.map((t) =>
    t === 'user'
      ? { to: 'every server', command: 'tctl auth export --type=krl -o /etc/ssh/revoked.krl', config: 'sshd_config: RevokedKeys /etc/ssh/revoked.krl' }
      : {
          to: 'every client',
          command: 'tctl auth export --type=krl -o ~/.ssh/revoked.krl',
          config: 'ssh_config: RevokedHostKeys with an absolute path, or an @revoked line for the host key in known_hosts; sshd\'s RevokedKeys does not check host certificates',
        },
  );
}

/** A PEM "CERTIFICATE" block or DER (a SEQUENCE), rather than an OpenSSH certificate line. */
function isX509File(file: string): boolean {
  const data = readX509Input(file);
  return data.includes('-----BEGIN CERTIFICATE-----') || data[0] === 0x30;
}

function readX509Input(file: string): Buffer {
  if (file === '') throw new UsageError('--cert is empty');
  try {
    return readFileCapped(file, MAX_INPUT_FILE_BYTES, { name: `--cert ${file}` });
  } catch (err) {
    throw fileError('cannot read --cert', file, err);
  }
}
