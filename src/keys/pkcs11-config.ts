// Which PKCS#11 token holds the CA keys, configured the Teleport way (teleport.yaml):
//
//   auth_service:
//     ca_key_params:
//       pkcs11:
//         module_path: /usr/lib/softhsm/libsofthsm2.so
//         token_label: "tctl"          # or slot_number: 0 (the CK_SLOT_ID), exactly one of the two
//         pin_path: /etc/tctl/hsm-pin  # or pin: "1234" (Teleport accepts both), exactly one
//
// or, for CI and scripts, by environment variables (which win over the file, as everywhere):
//   TCTL_PKCS11_MODULE       module_path
//   TCTL_PKCS11_TOKEN_LABEL  token_label
//   TCTL_PKCS11_SLOT         slot_number
//   TCTL_PKCS11_PIN_FILE     pin_path (there is deliberately no variable holding the PIN itself)
import { TctlError } from '../errors.js';
import { readSecretFile } from './secrets.js';

export interface Pkcs11Config {
  modulePath: string;
  tokenLabel?: string;
  slotNumber?: number;
  /** the user PIN as written in teleport.yaml (pin:) */
  pin?: string;
  /** a file holding the user PIN (pin_path:, TCTL_PKCS11_PIN_FILE) */
  pinPath?: string;
}

export const PKCS11_ENV = {
  module: 'TCTL_PKCS11_MODULE',
  tokenLabel: 'TCTL_PKCS11_TOKEN_LABEL',
  slot: 'TCTL_PKCS11_SLOT',
  pinFile: 'TCTL_PKCS11_PIN_FILE',
} as const;

/** PKCS#11 token labels are 32 bytes, blank-padded (CK_TOKEN_INFO.label). */
export const MAX_TOKEN_LABEL_BYTES = 32;
/** CK_SLOT_ID is a CK_ULONG; JSON/YAML numbers are exact to 2^53. */
const MAX_SLOT = Number.MAX_SAFE_INTEGER;
/** PINs are short; a YubiKey's is 6 to 8 characters, SoftHSM's up to 255. */
export const MAX_PIN_BYTES = 255;
const MAX_PATH = 4096;

export type PartialPkcs11Config = { [K in keyof Pkcs11Config]?: Pkcs11Config[K] };
type Partial11 = PartialPkcs11Config;

function text(v: unknown, what: string, maxBytes: number): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw new TctlError(`${what} must be a non-empty string`);
  if (Buffer.byteLength(v) > maxBytes) throw new TctlError(`${what} is longer than ${maxBytes} bytes`);
  if (v.includes('\0')) throw new TctlError(`${what} contains a NUL byte`);
  return v;
}

function slot(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^[0-9]{1,16}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > MAX_SLOT) throw new TctlError(`${what} must be a whole number from 0 to ${MAX_SLOT}`);
  return n;
}

/**
 * The pkcs11 section of a parsed teleport.yaml (the whole document), or undefined when the file
 * has none. `file` names the config in messages.
 */
export function pkcs11FromTeleportConfig(doc: unknown, file: string): Partial11 | undefined {
  const auth = (doc as Record<string, unknown> | null)?.auth_service;
  const params = (auth as Record<string, unknown> | null | undefined)?.ca_key_params;
  if (params === undefined || params === null) return undefined;
  if (typeof params !== 'object' || Array.isArray(params)) throw new TctlError(`config ${file}: auth_service.ca_key_params must be a mapping`);
  const p = (params as Record<string, unknown>).pkcs11;
  const others = Object.keys(params).filter((k) => k !== 'pkcs11');
  if (others.length > 0) {
    throw new TctlError(`config ${file}: auth_service.ca_key_params.${others[0]} is not supported`, { hint: 'only pkcs11 is: cloud KMS keys are not' });
  }
  if (p === undefined || p === null) return undefined;
  if (typeof p !== 'object' || Array.isArray(p)) throw new TctlError(`config ${file}: auth_service.ca_key_params.pkcs11 must be a mapping`);
  const s = p as Record<string, unknown>;
  const known = ['module_path', 'token_label', 'slot_number', 'pin', 'pin_path'];
  const unknown = Object.keys(s).find((k) => !known.includes(k));
  if (unknown) throw new TctlError(`config ${file}: unknown key auth_service.ca_key_params.pkcs11.${unknown}`, { hint: `known keys: ${known.join(', ')}` });
  const w = (k: string) => `config ${file}: auth_service.ca_key_params.pkcs11.${k}`;
  return {
    modulePath: text(s.module_path, w('module_path'), MAX_PATH),
    tokenLabel: text(s.token_label, w('token_label'), MAX_TOKEN_LABEL_BYTES),
    slotNumber: slot(s.slot_number, w('slot_number')),
    pin: s.pin === undefined || s.pin === null ? undefined : text(typeof s.pin === 'number' ? String(s.pin) : s.pin, w('pin'), MAX_PIN_BYTES),
    pinPath: text(s.pin_path, w('pin_path'), MAX_PATH),
  };
}

/** The PKCS#11 settings in the environment (names above), or undefined when none is set. */
export function pkcs11FromEnv(env: Record<string, string | undefined>): Partial11 | undefined {
  const get = (name: string) => (env[name] === '' ? undefined : env[name]);
  const out: Partial11 = {
    modulePath: text(get(PKCS11_ENV.module), PKCS11_ENV.module, MAX_PATH),
    tokenLabel: text(get(PKCS11_ENV.tokenLabel), PKCS11_ENV.tokenLabel, MAX_TOKEN_LABEL_BYTES),
    slotNumber: slot(get(PKCS11_ENV.slot), PKCS11_ENV.slot),
    pinPath: text(get(PKCS11_ENV.pinFile), PKCS11_ENV.pinFile, MAX_PATH),
  };
  return Object.values(out).some((v) => v !== undefined) ? out : undefined;
}

/**
 * The effective configuration: each environment variable overrides its config-file key (a token
 * chosen in the environment replaces both token_label and slot_number, a PIN file replaces pin).
 * Undefined when neither source mentions PKCS#11.
 */
export function resolvePkcs11Config(fromFile: Partial11 | undefined, fromEnv: Partial11 | undefined): Pkcs11Config | undefined {
  if (!fromFile && !fromEnv) return undefined;
  const f = fromFile ?? {};
  const e = fromEnv ?? {};
  const tokenFromEnv = e.tokenLabel !== undefined || e.slotNumber !== undefined;
  const merged: Partial11 = {
    modulePath: e.modulePath ?? f.modulePath,
    tokenLabel: tokenFromEnv ? e.tokenLabel : f.tokenLabel,
    slotNumber: tokenFromEnv ? e.slotNumber : f.slotNumber,
    pin: e.pinPath !== undefined ? undefined : f.pin,
    pinPath: e.pinPath ?? f.pinPath,
  };
  if (merged.modulePath === undefined) throw new TctlError(`PKCS#11 is configured without a module path`, { hint: `set module_path (or ${PKCS11_ENV.module})` });
  if ((merged.tokenLabel === undefined) === (merged.slotNumber === undefined)) {
    throw new TctlError('PKCS#11 needs exactly one of token_label and slot_number', { hint: `or ${PKCS11_ENV.tokenLabel} / ${PKCS11_ENV.slot}` });
  }
  if ((merged.pin === undefined) === (merged.pinPath === undefined)) {
    throw new TctlError('PKCS#11 needs exactly one of pin and pin_path', { hint: `or ${PKCS11_ENV.pinFile}` });
  }
  return merged as Pkcs11Config;
}

/** The user PIN, read from pin_path when that is how it is given. */
export function pkcs11Pin(config: Pkcs11Config): string {
  if (config.pin !== undefined) return config.pin;
  const bytes = readSecretFile(config.pinPath!, 'PKCS#11 PIN', MAX_PIN_BYTES);
  return bytes.toString('utf8');
}

/** How the token is named in messages and in the key reference kept in state. */
export function tokenName(config: Pick<Pkcs11Config, 'tokenLabel' | 'slotNumber'>): string {
  return config.tokenLabel !== undefined ? `token "${config.tokenLabel}"` : `slot ${config.slotNumber}`;
}
