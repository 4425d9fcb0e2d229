import { initAuthority, systemClock } from '../../ca/authority.js';
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
  const { dataDir, config } = await resolveContext(opts);
  const name = opts.clusterName ?? config.clusterName;
  if (name === undefined) {
    throw new UsageError('--cluster-name must be specified', 'e.g. tctl auth init --cluster-name=example.com');
  }
  const clusterName = checkClusterName(name);
  const keyType = oneOf('--ca-key-type', opts.caKeyType, KEY_TYPES);
  const state = initAuthority(dataDir, { clusterName, keyType, now: systemClock() });
  stdout(`Initialized cluster "${clusterName}" in ${dataDir}`);
  stdout(`user CA  ${keyType}  ${state.authorities.user.current.fingerprint}`);
  stdout(`host CA  ${keyType}  ${state.authorities.host.current.fingerprint}`);
  stderr(`Next: "tctl auth export --type=user > teleport_user_ca.pub" for sshd's TrustedUserCAKeys,
      "tctl auth export --type=host >> ~/.ssh/known_hosts" for ssh clients.`);
}
