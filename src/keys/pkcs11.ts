// CA keys inside a PKCS#11 token (an HSM, a YubiKey through ykcs11, SoftHSM). Keys are generated
// in the token as sensitive and never extractable; this process only ever holds a handle and the
// public key. One session is opened and logged in per command, so a batch pays the login once.
//
// The binding is pkcs11js (measured: SoftHSM Ed25519 signs at the same rate through it as through
// graphene-pk11, which wraps it and does not know the Ed25519 mechanisms by name). It is loaded
// only when a token is opened: commands without PKCS#11 never touch the native addon.
import { createHash, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as P11 from 'pkcs11js';
import { checkClusterName } from '../ca/principals.js';
import { TctlError, allowedValues } from '../errors.js';
import { type Pkcs11Config, pkcs11Pin, tokenName } from './pkcs11-config.js';
import { type CaKeyType, type CaSigner, checkAlgorithm, digestOf, ecdsaScalarBytes, RSA_MIN_BITS } from './signer.js';

type Binding = typeof P11;

// PKCS#11 3.0 §2.3.5/§2.3.14 numbers, absent from pkcs11js's 2.40 constant list (SoftHSM 2.6 implements them).
const CKK_EC_EDWARDS = 0x40;
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
const CKM_EDDSA = 0x1057;

/** CKA_EC_PARAMS: DER OIDs (RFC 5480 §2.1.1.1; RFC 8410 §3 for id-Ed25519). */
const EC_PARAMS: Record<'ed25519' | 'ecdsa-p256' | 'ecdsa-p384', Buffer> = {
  ed25519: Buffer.from('06032b6570', 'hex'),
  'ecdsa-p256': Buffer.from('06082a8648ce3d030107', 'hex'),
  'ecdsa-p384': Buffer.from('06052b81040022', 'hex'),
};
/** PKCS#11 3.0 also allows the curve as a PrintableString; some tokens answer that way. */
const ED25519_PRINTABLE = Buffer.from('130c656477617264733235353139', 'hex');

/** RSA keys generated in a token; the same size the in-process path uses. */
export const PKCS11_RSA_BITS = 3072;

/** A CA key in a token as the data dir records it: enough to find it again, nothing secret. */
export interface Pkcs11KeyRef {
  /** how the token was chosen: `token "label"` or `slot N` */
  token: string;
  /** CKA_ID, as text (tctl writes printable ids: `tctl:<cluster>:<ca>:<random hex>`) */
  id: string;
  label: string;
  keyType: CaKeyType;
}

export interface Pkcs11Signer extends CaSigner {
  readonly ref: Pkcs11KeyRef;
}

/** The attributes that show a key cannot leave the token (for `tctl status` and tests). */
export interface KeyProtection {
  sensitive: boolean;
  extractable: boolean;
  neverExtractable: boolean;
  alwaysSensitive: boolean;
}

const nodeRequire = createRequire(import.meta.url);
let binding: Binding | undefined;

function loadBinding(): Binding {
  if (binding) return binding;
  try {
    binding = nodeRequire('pkcs11js') as Binding;
  } catch (err) {
    throw new TctlError('PKCS#11 support is not available: the pkcs11js module did not load', {
      hint: `reinstall with build tools present (npm ci builds it with node-gyp): ${(err as Error).message.split('\n')[0]}`,
    });
  }
  return binding;
}

// One loaded module per path per process: C_Initialize/C_Finalize are per module, not per session.
const modules = new Map<string, { lib: P11.PKCS11; users: number }>();

const ckr = (err: unknown): string => (err as { message?: string }).message?.split('\n')[0] ?? String(err);
const codeOf = (err: unknown): number | undefined => (err as { code?: unknown }).code as number | undefined;
const ulong = (b: Buffer): number => b.readUIntLE(0, Math.min(b.length, 6));
const bool = (b: Buffer): boolean => b.length > 0 && b[0] !== 0;

function openModule(p11: Binding, modulePath: string): P11.PKCS11 {
  const loaded = modules.get(modulePath);
  if (loaded) {
    loaded.users++;
    return loaded.lib;
  }
  if (!existsSync(modulePath)) {
    throw new TctlError(`PKCS#11 module ${modulePath} not found`, { hint: 'check module_path (or TCTL_PKCS11_MODULE): the token vendor\'s .so file' });
  }
  const lib = new p11.PKCS11();
  try {
    lib.load(modulePath);
  } catch (err) {
    throw new TctlError(`cannot load PKCS#11 module ${modulePath}: ${ckr(err)}`);
  }
  try {
    lib.C_Initialize();
  } catch (err) {
    if (codeOf(err) !== p11.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw new TctlError(`PKCS#11 module ${modulePath} failed to initialise: ${ckr(err)}`);
  }
  modules.set(modulePath, { lib, users: 1 });
  return lib;
}

function releaseModule(modulePath: string): void {
  const loaded = modules.get(modulePath);
  if (!loaded || --loaded.users > 0) return;
  modules.delete(modulePath);
  try {
    loaded.lib.C_Finalize();
  } catch {
    // Nothing useful to report at exit; the process is letting go of the module either way.
  }
}

function findSlot(lib: P11.PKCS11, config: Pkcs11Config): Buffer {
  const slots = lib.C_GetSlotList(true);
  const labels = slots.map((s) => lib.C_GetTokenInfo(s).label.replace(/[ \0]+$/, ''));
  const matches = slots.filter((s, i) => (config.tokenLabel !== undefined ? labels[i] === config.tokenLabel : ulong(s) === config.slotNumber));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new TctlError(`more than one PKCS#11 token is labelled "${config.tokenLabel}"`, { hint: 'use slot_number to pick one' });
  throw new TctlError(`PKCS#11 ${tokenName(config)} not found in ${config.modulePath}`, {
    hint: labels.length > 0 ? `tokens present: ${allowedValues(labels)}` : 'the module reports no token (is it initialised and plugged in?)',
  });
}

/** An open, logged-in session on one token. Close it when the command ends. */
export class Pkcs11Token {
  private closed = false;

  private constructor(
    private readonly p11: Binding,
    private readonly lib: P11.PKCS11,
    private readonly session: Buffer,
    readonly config: Pkcs11Config,
  ) {}

  /** Loads the module, finds the token, opens a read-write session and logs in as the user. */
  static open(config: Pkcs11Config): Pkcs11Token {
    const pin = pkcs11Pin(config);
    const p11 = loadBinding();
    const lib = openModule(p11, config.modulePath);
    let session: Buffer | undefined;
    try {
      const slot = findSlot(lib, config);
      session = lib.C_OpenSession(slot, p11.CKF_SERIAL_SESSION | p11.CKF_RW_SESSION);
      try {
        lib.C_Login(session, p11.CKU_USER, pin);
      } catch (err) {
        const code = codeOf(err);
        if (code === p11.CKR_PIN_INCORRECT) throw new TctlError(`wrong PIN for PKCS#11 ${tokenName(config)}`, { hint: 'check pin_path (or TCTL_PKCS11_PIN_FILE); tokens lock after a few wrong PINs' });
        if (code === p11.CKR_PIN_LOCKED) throw new TctlError(`the PIN of PKCS#11 ${tokenName(config)} is locked`, { hint: 'the token\'s security officer must unlock it' });
        // Another session of this process is already logged in to the token: the login holds for all.
        if (code !== p11.CKR_USER_ALREADY_LOGGED_IN) throw new TctlError(`cannot log in to PKCS#11 ${tokenName(config)}: ${ckr(err)}`);
      }
      return new Pkcs11Token(p11, lib, session, config);
    } catch (err) {
      if (session) {
        try {
          lib.C_CloseSession(session);
        } catch {
          // already failing: the first error is the one to report
        }
      }
      releaseModule(config.modulePath);
      throw err;
    }
  }

  private get name(): string {
    return tokenName(this.config);
  }

  private check(): void {
    if (this.closed) throw new TctlError('internal error: the PKCS#11 session is closed');
  }

  /** Generates a CA key pair inside the token: CKA_TOKEN, CKA_SENSITIVE, not CKA_EXTRACTABLE. */
  generateKey(keyType: CaKeyType, opts: { clusterName: string; caType: string; rsaBits?: number }): Pkcs11Signer {
    this.check();
    const p11 = this.p11;
    const cluster = checkClusterName(opts.clusterName);
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(opts.caType)) throw new TctlError(`invalid CA type "${opts.caType}"`);
    const id = `tctl:${cluster}:${opts.caType}:${randomBytes(8).toString('hex')}`;
    const label = `tctl ${opts.caType} CA ${cluster}`;
    const common = [
      { type: p11.CKA_TOKEN, value: true },
      { type: p11.CKA_ID, value: Buffer.from(id) },
      { type: p11.CKA_LABEL, value: label },
    ];
    const pub: P11.Template = [...common, { type: p11.CKA_CLASS, value: p11.CKO_PUBLIC_KEY }, { type: p11.CKA_VERIFY, value: true }, { type: p11.CKA_PRIVATE, value: false }];
    const priv: P11.Template = [
      ...common,
      { type: p11.CKA_CLASS, value: p11.CKO_PRIVATE_KEY },
      { type: p11.CKA_SIGN, value: true },
      { type: p11.CKA_PRIVATE, value: true },
      { type: p11.CKA_SENSITIVE, value: true },
      { type: p11.CKA_EXTRACTABLE, value: false },
    ];
    let mechanism: number;
    if (keyType === 'rsa') {
      const bits = opts.rsaBits ?? PKCS11_RSA_BITS;
      if (!Number.isSafeInteger(bits) || bits < RSA_MIN_BITS || bits > 8192 || bits % 8 !== 0) throw new TctlError(`invalid RSA key size ${bits}: from ${RSA_MIN_BITS} to 8192, a multiple of 8`);
      mechanism = p11.CKM_RSA_PKCS_KEY_PAIR_GEN;
      pub.push({ type: p11.CKA_MODULUS_BITS, value: bits }, { type: p11.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) });
      priv.push({ type: p11.CKA_DECRYPT, value: false });
    } else {
      mechanism = keyType === 'ed25519' ? CKM_EC_EDWARDS_KEY_PAIR_GEN : p11.CKM_EC_KEY_PAIR_GEN;
      pub.push({ type: p11.CKA_EC_PARAMS, value: EC_PARAMS[keyType] });
    }
    try {
      this.lib.C_GenerateKeyPair(this.session, { mechanism }, pub, priv);
    } catch (err) {
      throw new TctlError(`PKCS#11 ${this.name} cannot generate a ${keyType} key: ${ckr(err)}`, { hint: 'the token may not support this key type; try another --ca-key-type' });
    }
    return this.findKey(id);
  }

  private findObjects(cls: number, id: string): Buffer[] {
    this.lib.C_FindObjectsInit(this.session, [{ type: this.p11.CKA_CLASS, value: cls }, { type: this.p11.CKA_ID, value: Buffer.from(id) }]);
    try {
      return this.lib.C_FindObjects(this.session, 4);
    } finally {
      this.lib.C_FindObjectsFinal(this.session);
    }
  }

  private handles(id: string): { priv: Buffer; pub: Buffer } {
    this.check();
    const priv = this.findObjects(this.p11.CKO_PRIVATE_KEY, id);
    const pub = this.findObjects(this.p11.CKO_PUBLIC_KEY, id);
    if (priv.length === 0) throw new TctlError(`CA key "${id}" not found in PKCS#11 ${this.name}`, { hint: 'the key was deleted or this is another token; the data dir still refers to it' });
    if (priv.length > 1 || pub.length > 1) throw new TctlError(`more than one key has the id "${id}" in PKCS#11 ${this.name}`);
    if (pub.length === 0) throw new TctlError(`the public half of CA key "${id}" is missing from PKCS#11 ${this.name}`);
    return { priv: priv[0]!, pub: pub[0]! };
  }

  private attrs(handle: Buffer, types: number[]): Buffer[] {
    return this.lib.C_GetAttributeValue(this.session, handle, types.map((type) => ({ type }))).map((a) => a.value);
  }

  /** Reads the public key of a token key into a KeyObject, and which CaKeyType it is. */
  private readPublicKey(pub: Buffer): { publicKey: KeyObject; keyType: CaKeyType } {
    const p11 = this.p11;
    const [kt] = this.attrs(pub, [p11.CKA_KEY_TYPE]);
    const keyKind = ulong(kt!);
    if (keyKind === p11.CKK_RSA) {
      const [n, e] = this.attrs(pub, [p11.CKA_MODULUS, p11.CKA_PUBLIC_EXPONENT]);
      const publicKey = createPublicKey({ key: { kty: 'RSA', n: n!.toString('base64url'), e: e!.toString('base64url') }, format: 'jwk' });
      return { publicKey, keyType: 'rsa' };
    }
    const [params, rawPoint] = this.attrs(pub, [p11.CKA_EC_PARAMS, p11.CKA_EC_POINT]);
    let keyType: 'ed25519' | 'ecdsa-p256' | 'ecdsa-p384';
    if (keyKind === CKK_EC_EDWARDS && (params!.equals(EC_PARAMS.ed25519) || params!.equals(ED25519_PRINTABLE))) keyType = 'ed25519';
    else if (keyKind === p11.CKK_EC && params!.equals(EC_PARAMS['ecdsa-p256'])) keyType = 'ecdsa-p256';
    else if (keyKind === p11.CKK_EC && params!.equals(EC_PARAMS['ecdsa-p384'])) keyType = 'ecdsa-p384';
    else throw new TctlError(`unsupported key in PKCS#11 ${this.name} (key type ${keyKind}, parameters ${params!.toString('hex')})`);
    const size = keyType === 'ed25519' ? 32 : 1 + 2 * ecdsaScalarBytes(keyType);
    const point = unwrapPoint(rawPoint!, size);
    const jwk =
      keyType === 'ed25519'
        ? { kty: 'OKP', crv: 'Ed25519', x: point.toString('base64url') }
        : {
            kty: 'EC',
            crv: keyType === 'ecdsa-p256' ? 'P-256' : 'P-384',
            x: point.subarray(1, 1 + (size - 1) / 2).toString('base64url'),
            y: point.subarray(1 + (size - 1) / 2).toString('base64url'),
          };
    try {
      return { publicKey: createPublicKey({ key: jwk, format: 'jwk' }), keyType };
    } catch {
      throw new TctlError(`the public key of a ${keyType} key in PKCS#11 ${this.name} is not a valid point`);
    }
  }

  /** A signer for the token key with this CKA_ID; the private key stays in the token. */
  findKey(id: string): Pkcs11Signer {
    const { priv, pub } = this.handles(id);
    const { publicKey, keyType } = this.readPublicKey(pub);
    const [labelBytes] = this.attrs(priv, [this.p11.CKA_LABEL]);
    const ref: Pkcs11KeyRef = { token: this.name, id, label: labelBytes!.toString('utf8'), keyType };
    const modulusBytes = keyType === 'rsa' ? Math.ceil((publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8) : 0;
    if (keyType === 'rsa' && modulusBytes * 8 < RSA_MIN_BITS) throw new TctlError(`RSA key "${id}" is shorter than ${RSA_MIN_BITS} bits`);
    return {
      publicKey,
      keyType,
      ref,
      location: { kind: 'pkcs11', token: ref.token, id, label: ref.label },
      signRaw: (algorithm, data) => {
        checkAlgorithm(keyType, algorithm);
        this.check();
        const p11 = this.p11;
        let mechanism: number;
        let input = data;
        let outLen: number;
        if (keyType === 'ed25519') {
          mechanism = CKM_EDDSA;
          outLen = 64;
        } else if (keyType === 'rsa') {
          mechanism = algorithm === 'rsa-pkcs1-sha512' ? p11.CKM_SHA512_RSA_PKCS : p11.CKM_SHA256_RSA_PKCS;
          outLen = modulusBytes;
        } else {
          // CKM_ECDSA signs a digest we compute: tokens differ in which CKM_ECDSA_SHAxxx they offer.
          mechanism = p11.CKM_ECDSA;
          input = createHash(digestOf(algorithm)!).update(data).digest();
          outLen = 2 * ecdsaScalarBytes(keyType);
        }
        try {
          this.lib.C_SignInit(this.session, { mechanism }, priv);
          return Buffer.from(this.lib.C_Sign(this.session, input, Buffer.alloc(outLen)));
        } catch (err) {
          throw new TctlError(`PKCS#11 ${this.name} could not sign with CA key "${id}": ${ckr(err)}`);
        }
      },
    };
  }

  /** CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_NEVER_EXTRACTABLE and CKA_ALWAYS_SENSITIVE of a token key. */
  keyProtection(id: string): KeyProtection {
    const p11 = this.p11;
    const { priv } = this.handles(id);
    const [s, e, ne, as] = this.attrs(priv, [p11.CKA_SENSITIVE, p11.CKA_EXTRACTABLE, p11.CKA_NEVER_EXTRACTABLE, p11.CKA_ALWAYS_SENSITIVE]);
    return { sensitive: bool(s!), extractable: bool(e!), neverExtractable: bool(ne!), alwaysSensitive: bool(as!) };
  }

  /** Destroys both halves of a token key (an old key after a completed rotation). */
  destroyKey(id: string): void {
    const { priv, pub } = this.handles(id);
    this.lib.C_DestroyObject(this.session, priv);
    this.lib.C_DestroyObject(this.session, pub);
  }

  /** Logs out and closes the session; the module is finalised when its last session closes. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.lib.C_Logout(this.session);
    } catch {
      // a session whose login was shared may already be logged out
    }
    try {
      this.lib.C_CloseSession(this.session);
    } finally {
      releaseModule(this.config.modulePath);
    }
  }
}

/**
 * CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 2.40 §2.3.3; SoftHSM does this),
 * but some tokens return the bare point. Both are accepted when their length is exactly right.
 */
export function unwrapPoint(value: Buffer, size: number): Buffer {
  if (value.length === size) return value;
  if (size < 128 && value.length === size + 2 && value[0] === 0x04 && value[1] === size) return value.subarray(2);
  if (size >= 128 && value.length === size + 3 && value[0] === 0x04 && value[1] === 0x81 && value[2] === size) return value.subarray(3);
  throw new TctlError(`unexpected public key point of ${value.length} bytes from the PKCS#11 token`);
}
