// The X.509 library in one import for src/cli. Importing it loads no node-forge code: forge's
// asn1 and pem files are required on first use (see forge.ts), so only TLS paths pay for them.
export * from './certificate.js';
export * from './crl.js';
export * from './csr.js';
export * from './decode.js';
export { EKU, type ExtendedKeyUsage, type KeyUsage } from './extensions.js';
export * from './keys.js';
export * from './lint.js';
export { checkCommonName, ipBytes, splitHosts, type AltNames } from './names.js';
export * from './pem.js';
export * from './signer.js';
