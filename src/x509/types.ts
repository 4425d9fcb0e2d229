// The closed sets of TLS key types and certificate authorities, with no imports: the data dir's
// state schema reads them on every command, which must not load the X.509 code itself.

export const X509_KEY_TYPES = ['ecdsa-p256', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ed25519'] as const;
export type X509KeyType = (typeof X509_KEY_TYPES)[number];

export const TLS_CAS = ['host', 'user', 'db', 'db_client'] as const;
export type TlsCa = (typeof TLS_CAS)[number];

/**
 * balanced-v1 (Teleport RFD 136): host/user TLS CAs are ECDSA P-256; db and db_client stay
 * RSA-2048 because some databases (older MySQL, SQL Server, Oracle) accept nothing else.
 * `rsa` is what `--ca-key-type=rsa` asks for: RSA-2048 everywhere, Teleport's legacy suite.
 */
export const CA_KEY_TYPES: Record<'balanced-v1' | 'rsa', Record<TlsCa, X509KeyType>> = {
  'balanced-v1': { host: 'ecdsa-p256', user: 'ecdsa-p256', db: 'rsa-2048', db_client: 'rsa-2048' },
  rsa: { host: 'rsa-2048', user: 'rsa-2048', db: 'rsa-2048', db_client: 'rsa-2048' },
};


/** What an issued certificate is for; each has its CA, EKUs and key type (certificate.ts, keys.ts). */
export const LEAF_PROFILES = ['tls-user', 'tls-host', 'db-server', 'db-client', 'cockroachdb-node'] as const;
export type LeafProfile = (typeof LEAF_PROFILES)[number];
