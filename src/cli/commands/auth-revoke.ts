import { hasControlCharacters } from '../../ca/principals.js';
import { parseAnySerial, revoke } from '../../ca/revocation.js';
import type { RevokeTarget } from '../../ca/revocation.js';
import { UsageError, oneOf } from '../../errors.js';
import { CA_TYPES } from '../../store/state.js';
import type { GlobalOptions } from '../context.js';
import { resolveContext } from '../context.js';
import { fileError, readFileCapped } from '../../store/files.js';
import { MAX_INPUT_FILE_BYTES, readCertificateFile, readPublicKeyFile } from '../input.js';
import { stderr, stdout } from '../output.js';

export interface RevokeOptions extends GlobalOptions {
  serial?: string;
  keyId?: string;
  cert?: string;
  publicKey?: string;
  reason?: string;
  type?: string;
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
  const { dataDir } = await resolveContext(opts);
  if (target.by === 'cert-file') {
    // An X.509 certificate: matched to the TLS CA key that signed it (src/x509 loads only here).
    const { x509RevokeTarget } = await import('../../ca/tls-revoke.js');
    target = x509RevokeTarget(dataDir, opts.cert!, readX509Input(opts.cert!));
  }
  const { record, added, neverIssued } = revoke(dataDir, target, { reason: opts.reason });
  const what =
    record.kind === 'serial'
      ? `certificate serial ${record.serial} (CA ${record.caFingerprint})`
      : record.kind === 'key-id'
        ? `key id "${record.keyId}" for the ${record.caType} CA`
        : record.kind === 'x509-serial'
          ? `TLS certificate serial ${record.serial} (${record.ca.replace('_', '-')} CA ${record.caFingerprint})`
          : `public key ${record.keyFingerprint}`;
  stdout(added ? `Revoked ${what}.` : `Already revoked: ${what}.`);
  if (neverIssued && record.kind === 'key-id') stderr(`No ${record.caType} certificate with key id "${record.keyId}" has been issued; tctl will refuse to sign one.`);
  if (record.kind === 'x509-serial') {
    stderr(`Deploy the new list: tctl auth crl --type=${record.ca.replace('_', '-')} --format=pem -o ${record.ca.replace('_', '-')}.crl  (PostgreSQL: ssl_crl_file)`);
  } else {
    stderr('Deploy the new list: tctl auth export --type=krl -o revoked.krl  (sshd: RevokedKeys)');
  }
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
