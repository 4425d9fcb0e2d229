import { systemClock } from '../../ca/authority.js';
import { initOrComplete } from '../../ca/init.js';
import { checkClusterName } from '../../ca/principals.js';
import { UsageError, oneOf } from '../../errors.js';
import { KEY_TYPES } from '../../ssh/keys.js';
import type { GlobalOptions } from '../context.js';
import { resolveContext } from '../context.js';
import { stderr, stdout } from '../output.js';

export interface InitOptions extends GlobalOptions {
  clusterName?: string;
  caKeyType: string;
}

export async function authInit(opts: InitOptions): Promise<void> {
  const { store, config } = await resolveContext(opts);
  const name = opts.clusterName ?? config.clusterName;
  if (name === undefined) {
    throw new UsageError('--cluster-name must be specified', 'e.g. tctl auth init --cluster-name=example.com');
  }
  const clusterName = checkClusterName(name);
  const keyType = oneOf('--ca-key-type', opts.caKeyType, KEY_TYPES);
  const { CA_KEY_TYPES } = await import('../../x509/types.js');
  const { makeTlsKey } = await import('../../ca/tls-keys.js');
  // Teleport's balanced-v1 suite, or RSA everywhere when the SSH CAs are RSA too.
  const keyTypes = CA_KEY_TYPES[keyType === 'rsa' ? 'rsa' : 'balanced-v1'];
  store.create();
  const { state, created, addedTls } = initOrComplete(store, { clusterName, keyType, now: systemClock(), tls: { keyTypes, makeKey: makeTlsKey } });
  const tlsLines = addedTls.map((t) => {
    const r = state.tls![t]!.current;
    return `tls ${t.replace('_', '-')} CA`.padEnd(20) + `${r.keyType.padEnd(11)} ${r.fingerprint}`;
  });
  if (!created) {
    stdout(`Added the TLS certificate authorities to cluster "${state.clusterName}" in ${store.describe()}`);
    stdout(tlsLines.join('\n'));
    stderr('SSH keys and certificates are unchanged. Next: "tctl auth export --type=db-client" and "tctl auth sign --format=db ...".');
    return;
  }
  stdout(`Initialized cluster "${clusterName}" in ${store.describe()}`);
  stdout(`user CA  ${keyType}  ${state.authorities.user.current.fingerprint}`);
  stdout(`host CA  ${keyType}  ${state.authorities.host.current.fingerprint}`);
  stdout(tlsLines.join('\n'));
  stderr(`Next: "tctl auth export --type=user > teleport_user_ca.pub" for sshd's TrustedUserCAKeys,
      "tctl auth export --type=host >> ~/.ssh/known_hosts" for ssh clients.`);
}
