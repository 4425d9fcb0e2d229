// `auth sign --format=tls|db|redis|elasticsearch|scylla|mongodb|cockroachdb`: an X.509 key pair
// (or a given public key / CSR) certified by a TLS CA, with the CA certificates the peer side
// presents, written in the layout each server expects. Same file rules as --format=openssh:
// outputs exist as temp files before anything is issued, the private key is on disk first, the
// issuance log is appended before the files are published.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tlsAuthority } from '../../ca/authority.js';
import { parseDuration } from '../../ca/duration.js';
import { checkHostPrincipals, checkUserPrincipal, splitList } from '../../ca/principals.js';
import { issueTlsCertificate, PROFILE_CA, type TlsIssued } from '../../ca/tls-issue.js';
import { TctlError, UsageError } from '../../errors.js';
import { discardReserved, fileError, publishReserved, readFileCapped, reserveFile, type ReservedFile } from '../../store/files.js';
import { loadState } from '../../store/state.js';
import {
  checkCommonName, generateX509Key, LEAF_KEY_TYPES, type LeafProfile, parsePublicKeyInput, privateKeyPem, type TlsCa, type X509KeyType,
} from '../../x509/index.js';
import { resolveContext } from '../context.js';
import { MAX_INPUT_FILE_BYTES } from '../input.js';
import { printWarning, stdout, stdoutJson } from '../output.js';
import { checkOutName, checkTargets, deniedPermits, type SignOptions } from './auth-sign.js';

/** Teleport's default for every TLS format. */
const DEFAULT_TTL_SECONDS = 12 * 3600;
const DB_FORMATS = ['db', 'redis', 'elasticsearch', 'scylla', 'mongodb', 'cockroachdb'];

interface Output {
  target: string;
  mode: number;
  content: 'key' | 'cert' | 'cert+key' | TlsCa;
}

/** The profile, and which CA certificates go beside the certificate: the CA that signs the peer's certificates. */
function profileOf(format: string, isUser: boolean): LeafProfile {
  if (format === 'tls') return isUser ? 'tls-user' : 'tls-host';
  if (format === 'cockroachdb') return 'cockroachdb-node';
  return isUser ? 'db-client' : 'db-server';
}

const PEER_CA: Record<LeafProfile, TlsCa> = {
  'tls-user': 'host',
  'tls-host': 'user',
  'db-server': 'db_client',
  'db-client': 'db',
  'cockroachdb-node': 'db_client',
};

function checkFlags(opts: SignOptions, format: string): void {
  const notHere: Array<[string, unknown]> = [
    ['--batch', opts.batch], ['--out-dir', opts.outDir], ['--keep-going', opts.keepGoing], ['--principals', opts.principals],
    ['--force-command', opts.forceCommand], ['--source-address', opts.sourceAddress], ['--compat', opts.compat],
    ['--permit', opts.permit], ['--valid-after', opts.validAfter], ['--valid-before', opts.validBefore], ['--add-to-agent', opts.addToAgent], ...deniedPermits(opts).map((p): [string, unknown] => [`--no-${p}`, false]),
  ];
  const given = notHere.find(([, v]) => v !== undefined);
  if (given) throw new UsageError(`${given[0]} does not apply to --format=${format}`, 'it is an OpenSSH certificate option; see "tctl auth sign --help"');
  if (opts.host === undefined && opts.user === undefined) {
    // Teleport's words for database formats; scripts grep for them.
    if (DB_FORMATS.includes(format)) throw new UsageError('at least one hostname must be specified', `e.g. tctl auth sign --format=${format} --host=db.example.com,10.0.0.5 --out=server`);
    throw new UsageError('--user or --host must be specified', 'e.g. tctl auth sign --format=tls --host=api.example.com or --format=tls --user=joe');
  }
  if (opts.host !== undefined && opts.user !== undefined) {
    throw new UsageError('--user or --host must be specified', 'give one: --host for a server certificate, --user for a client certificate');
  }
  if (opts.user !== undefined && (format === 'mongodb' || format === 'cockroachdb')) {
    throw new UsageError(`--format=${format} writes a database server's files: give --host`, 'for a client certificate use --format=db --user=NAME');
  }
  if (format === 'mongodb' && opts.publicKey !== undefined) {
    throw new UsageError('--public-key does not apply to --format=mongodb: its .crt file holds the private key too', 'with a key of your own use --format=db --public-key=FILE and append the key to the .crt');
  }
}

function keyTypeOf(flag: string | undefined, profile: LeafProfile): X509KeyType {
  if (flag === undefined) return LEAF_KEY_TYPES[profile];
  if (flag === 'ecdsa') return 'ecdsa-p256';
  if (flag === 'rsa') return 'rsa-2048';
  if (flag === 'ed25519') throw new UsageError('--key-type=ed25519 is refused for TLS certificates: not every TLS stack accepts Ed25519', 'use --key-type=ecdsa or --key-type=rsa');
  if (flag === '') throw new UsageError('--key-type is empty; allowed values: "ecdsa", "rsa"');
  throw new UsageError(`invalid --key-type "${flag}"; allowed values: "ecdsa", "rsa"`);
}

function outputsOf(format: string, out: string, generated: boolean, profile: LeafProfile): Output[] {
  if (format === 'cockroachdb') {
    return [
      { target: path.join(out, 'node.crt'), mode: 0o644, content: 'cert' },
      ...(generated ? [{ target: path.join(out, 'node.key'), mode: 0o600, content: 'key' as const }] : []),
      { target: path.join(out, 'ca.crt'), mode: 0o644, content: 'db' },
      { target: path.join(out, 'ca-client.crt'), mode: 0o644, content: 'db_client' },
    ];
  }
  if (format === 'mongodb') return [{ target: `${out}.crt`, mode: 0o600, content: 'cert+key' }, { target: `${out}.cas`, mode: 0o644, content: PEER_CA[profile] }];
  return [
    ...(generated ? [{ target: `${out}.key`, mode: 0o600, content: 'key' as const }] : []),
    { target: `${out}.crt`, mode: 0o644, content: 'cert' },
    { target: `${out}.cas`, mode: 0o644, content: PEER_CA[profile] },
  ];
}

export async function authSignTls(opts: SignOptions, format: string): Promise<void> {
  checkFlags(opts, format);
  const isUser = opts.user !== undefined;
  const profile = profileOf(format, isUser);
  const names = isUser ? [checkCommonName(checkUserPrincipal('--user', opts.user!))] : checkHostPrincipals(splitList('--host', opts.host!));
  const ttlSeconds = opts.ttl === undefined ? DEFAULT_TTL_SECONDS : parseDuration('--ttl', opts.ttl);
  const keyType = keyTypeOf(opts.keyType, profile);
  const out = opts.out ?? names[0]!;
  checkOutName(out);
  const { store } = await resolveContext(opts);
  const outputs = outputsOf(format, out, opts.publicKey === undefined, profile);
  const bundles = [...new Set(outputs.flatMap((o) => (o.content === 'key' || o.content === 'cert' || o.content === 'cert+key' ? [] : [o.content])))];
  // Fail early on an uninitialised, damaged or pre-TLS data dir.
  const state = loadState(store);
  for (const ca of [PROFILE_CA[profile], ...bundles]) tlsAuthority(state, ca);

  let publicKey;
  let privateKey;
  if (opts.publicKey !== undefined) {
    if (opts.publicKey === '') throw new UsageError('--public-key is empty');
    let input: Buffer;
    try {
      input = readFileCapped(opts.publicKey, MAX_INPUT_FILE_BYTES, { name: `--public-key ${opts.publicKey}` });
    } catch (err) {
      throw fileError('cannot read --public-key', opts.publicKey, err);
    }
    try {
      publicKey = parsePublicKeyInput(input).publicKey;
    } catch (err) {
      if (err instanceof TctlError) throw new TctlError(`invalid --public-key ${opts.publicKey}: ${err.message}`, { hint: err.hint });
      throw err;
    }
  } else {
    const pair = generateX509Key(keyType);
    publicKey = pair.publicKey;
    privateKey = pair.privateKey;
  }

  // A directory made here goes again on failure, once the temp files are gone (rmdir: only if empty).
  let madeDir = false;
  if (format === 'cockroachdb') madeDir = makeCertsDir(out);
  const targets = outputs.map((o) => o.target);
  const reserved: ReservedFile[] = [];
  const published: string[] = [];
  let overwrite = false;
  let issued: TlsIssued | undefined;
  try {
    overwrite = await checkTargets(targets, Boolean(opts.overwrite));
    for (const o of outputs) reserved.push(reserveFile(o.target, o.mode));
    const keyPem = privateKey ? privateKeyPem(privateKey) : '';
    outputs.forEach((o, i) => o.content === 'key' && reserved[i]!.fill(keyPem));
    issued = issueTlsCertificate(store, { profile, publicKey, names, ttlSeconds, bundles }, {
      deliver: (done) => {
        outputs.forEach((o, i) => {
          if (o.content === 'cert') reserved[i]!.fill(done.certificate.pem);
          else if (o.content === 'cert+key') reserved[i]!.fill(done.certificate.pem + keyPem);
          else if (o.content !== 'key') reserved[i]!.fill(done.bundles[o.content]!);
        });
        publishReserved(reserved, overwrite, published);
      },
    });
  } catch (err) {
    discardReserved(reserved, published, overwrite);
    if (madeDir) {
      try {
        fs.rmdirSync(out);
      } catch {
        // not empty: something else was put there meanwhile, which is not ours to remove
      }
    }
    throw err;
  }
  if (issued.certificate.clamped) {
    await printWarning(`the certificate expires at ${issued.certificate.notAfter.toISOString()}, with its CA certificate, not after the requested --ttl`);
  }
  if (opts.json) stdoutJson({ ...issued.record, files: targets });
  else stdout(`The credentials have been written to ${targets.join(', ')}`);
}

/** CockroachDB's --certs-dir: created 0700 if missing (it holds node.key); returns whether it was created. */
function makeCertsDir(dir: string): boolean {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir, { throwIfNoEntry: false });
  } catch (err) {
    throw fileError('cannot use', dir, err);
  }
  if (st) {
    if (!st.isDirectory()) throw new TctlError(`cannot write ${dir}/: it exists and is not a directory`, { hint: '--format=cockroachdb writes into a certs directory; choose another --out' });
    return false;
  }
  if (!fs.existsSync(path.dirname(path.resolve(dir)))) throw new TctlError(`cannot write ${dir}/: directory ${path.dirname(dir)} does not exist`);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    throw fileError('cannot create directory', dir, err);
  }
  return true;
}
