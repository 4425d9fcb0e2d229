// Text lines that hand our CA keys to OpenSSH, keeping Teleport's comments so scripts that
// grep or sed them keep working.
import { publicKeyLine } from '../ssh/keys.js';
import type { CaKeyRecord } from '../store/state.js';

function keyType(record: CaKeyRecord): string {
  const blob = Buffer.from(record.publicKey, 'base64');
  return blob.subarray(4, 4 + blob.readUInt32BE(0)).toString('latin1');
}

/**
 * A TrustedUserCAKeys line: a plain public key. Teleport prints a cert-authority prefix here,
 * which sshd rejects in TrustedUserCAKeys; scripts `sed 's/cert-authority //'` it away, and on
 * our lines that sed is a no-op.
 */
export function trustedUserCaLine(clusterName: string, record: CaKeyRecord): string {
  return publicKeyLine(keyType(record), Buffer.from(record.publicKey, 'base64'), `clustername=${clusterName}&type=user`);
}

/** An authorized_keys line (sshd AUTHORIZED_KEYS FILE FORMAT) trusting the user CA for one account. */
export function authorizedKeysCaLine(clusterName: string, record: CaKeyRecord): string {
  return `cert-authority ${trustedUserCaLine(clusterName, record)}`;
}

/** Teleport's host patterns: the cluster name and every name under it. */
export function defaultHostPatterns(clusterName: string): string[] {
  return [clusterName, `*.${clusterName}`];
}

/** A known_hosts line (sshd(8) SSH_KNOWN_HOSTS FILE FORMAT) trusting the host CA for the patterns. */
export function knownHostsCaLine(patterns: string[], record: CaKeyRecord): string {
  return `@cert-authority ${patterns.join(',')} ${publicKeyLine(keyType(record), Buffer.from(record.publicKey, 'base64'), 'type=host')}`;
}
