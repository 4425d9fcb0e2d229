import { hasControlCharacters } from '../../ca/principals.js';
import { parseSerial, revoke } from '../../ca/revocation.js';
import type { RevokeTarget } from '../../ca/revocation.js';
import { UsageError, oneOf } from '../../errors.js';
import { CA_TYPES } from '../../store/state.js';
import type { GlobalOptions } from '../context.js';
import { resolveContext } from '../context.js';
import { readCertificateFile, readPublicKeyFile } from '../input.js';
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
  let target: RevokeTarget;
  if (opts.serial !== undefined) {
    target = { by: 'serial', serial: parseSerial(opts.serial) };
  } else if (opts.keyId !== undefined) {
    if (opts.keyId === '') throw new UsageError('--key-id is empty');
    const caType = opts.type === undefined ? undefined : oneOf('--type', opts.type, CA_TYPES);
    target = caType === undefined ? { by: 'key-id', keyId: opts.keyId } : { by: 'key-id', keyId: opts.keyId, caType };
  } else if (opts.cert !== undefined) {
    target = { by: 'cert', cert: readCertificateFile('--cert', opts.cert), file: opts.cert };
  } else {
    target = { by: 'public-key', key: await readPublicKeyFile('--public-key', opts.publicKey!) };
  }
  const { dataDir } = await resolveContext(opts);
  const { record, added, neverIssued } = revoke(dataDir, target, { reason: opts.reason });
  const what =
    record.kind === 'serial'
      ? `certificate serial ${record.serial} (CA ${record.caFingerprint})`
      : record.kind === 'key-id'
        ? `key id "${record.keyId}" for the ${record.caType} CA`
        : `public key ${record.keyFingerprint}`;
  stdout(added ? `Revoked ${what}.` : `Already revoked: ${what}.`);
  if (neverIssued && record.kind === 'key-id') stderr(`No ${record.caType} certificate with key id "${record.keyId}" has been issued; tctl will refuse to sign one.`);
  stderr('Deploy the new list: tctl auth export --type=krl -o revoked.krl  (sshd: RevokedKeys)');
}
