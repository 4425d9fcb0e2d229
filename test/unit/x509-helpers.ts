// Shared by the X.509 tests: CAs of each key type, leaf certificates with their keys written to a
// temp dir, and openssl run without a shell.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/run.js';
import {
  createCaCertificate, generateX509Key, issueLeafCertificate, issuerFromCertificate, type Issuer, type IssuedCertificate,
  LEAF_KEY_TYPES, type LeafProfile, privateKeyPem, signerFromKeyObject, type X509KeyType,
} from '../../src/x509/index.js';

export interface TestCa {
  dir: string;
  issuer: Issuer;
  cert: IssuedCertificate;
  /** the CA certificate's PEM file */
  file: string;
}

export function makeCa(keyType: X509KeyType, clusterName = 'example.com', now = new Date()): TestCa {
  const dir = tempDir('tctl-x509-');
  const key = generateX509Key(keyType);
  const signer = signerFromKeyObject(key.privateKey);
  const cert = createCaCertificate({ clusterName, signer, now });
  const file = path.join(dir, 'ca.crt');
  fs.writeFileSync(file, cert.pem);
  fs.writeFileSync(path.join(dir, 'ca.key'), privateKeyPem(key.privateKey), { mode: 0o600 });
  return { dir, issuer: issuerFromCertificate(cert.der, signer), cert, file };
}

export interface TestLeaf {
  cert: IssuedCertificate;
  certFile: string;
  keyFile: string;
}

/** Issues a leaf with a fresh key of the profile's default type and writes `<name>.crt`/`<name>.key` into the CA's dir. */
export function makeLeaf(ca: TestCa, profile: LeafProfile, names: string[], opts: { name?: string; ttlSeconds?: number; keyType?: X509KeyType; now?: Date } = {}): TestLeaf {
  const key = generateX509Key(opts.keyType ?? LEAF_KEY_TYPES[profile]);
  const cert = issueLeafCertificate({ profile, publicKey: key.publicKey, names, ttlSeconds: opts.ttlSeconds ?? 3600 }, ca.issuer, { now: opts.now ?? new Date() });
  const base = path.join(ca.dir, opts.name ?? profile);
  fs.writeFileSync(`${base}.crt`, cert.pem);
  fs.writeFileSync(`${base}.key`, privateKeyPem(key.privateKey), { mode: 0o600 });
  return { cert, certFile: `${base}.crt`, keyFile: `${base}.key` };
}

export interface OpenSslResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** openssl with a minimal environment; `input` goes to stdin. */
export function openssl(args: string[], opts: { cwd?: string; input?: string | Buffer } = {}): OpenSslResult {
  const r = spawnSync('openssl', args, {
    cwd: opts.cwd,
    input: opts.input ?? '',
    env: { PATH: process.env.PATH, LC_ALL: 'C' },
    encoding: 'utf8',
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
