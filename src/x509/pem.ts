// PEM in and out. Output uses LF line endings and 64-column base64 (RFC 7468 §2) so files diff
// cleanly; input is read by forge's PEM reader after a byte cap.
import { TctlError } from '../errors.js';
import { MAX_DER_BYTES, pem } from './forge.js';

/** Largest PEM text read: a chain of a few certificates, or a CSR, with room to spare. */
export const MAX_PEM_BYTES = 1024 * 1024;

export interface PemBlock {
  label: string;
  der: Buffer;
}

export function pemEncode(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function looksLikePem(input: Buffer | string): boolean {
  const head = typeof input === 'string' ? input.slice(0, 4096) : input.subarray(0, 4096).toString('latin1');
  return head.includes('-----BEGIN ');
}

/** Every PEM block in the text; encrypted blocks (Proc-Type headers) are refused. */
export function pemDecode(input: Buffer | string, what = 'input'): PemBlock[] {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > MAX_PEM_BYTES) throw new TctlError(`${what} is too large: ${size} bytes (at most ${MAX_PEM_BYTES})`);
  // forge throws on text without any PEM block; that is simply "no blocks" here.
  if (!looksLikePem(input)) return [];
  let blocks;
  try {
    blocks = pem().decode(typeof input === 'string' ? input : input.toString('latin1'));
  } catch (err) {
    throw new TctlError(`${what} is not valid PEM: ${(err as Error).message}`);
  }
  return blocks.map((b) => {
    if (b.procType) throw new TctlError(`${what} holds an encrypted PEM block (${b.type})`);
    const der = Buffer.from(b.body, 'latin1');
    if (der.length > MAX_DER_BYTES) throw new TctlError(`${what}: a ${b.type} block is too large`);
    return { label: b.type, der };
  });
}

/** The DER of each block with one of the labels, refusing other labels so a private key is never taken for a certificate. */
export function pemBlocksOf(input: Buffer | string, labels: readonly string[], what: string): PemBlock[] {
  const blocks = pemDecode(input, what);
  if (blocks.length === 0) throw new TctlError(`${what} holds no PEM block`);
  for (const b of blocks) {
    if (!labels.includes(b.label)) throw new TctlError(`${what} holds a "${b.label}" PEM block where ${labels.map((l) => `"${l}"`).join(' or ')} was expected`);
  }
  return blocks;
}
