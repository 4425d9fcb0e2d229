// Opens the store a StoreLocation names. Each implementation is a dynamic import: the data
// dir's start-up never loads the PostgreSQL driver, and the other way round.
import type { Store } from './backend.js';
import type { CaStore } from './ca-store.js';
import type { StoreLocation } from './select.js';

/** create: make a missing data dir (auth init, a clone target); PostgreSQL creates its schema on first use either way. */
export async function openStore(location: StoreLocation, opts: { create?: boolean } = {}): Promise<Store> {
  if (location.kind === 'dir') {
    const { DirStore } = await import('./local/dir-store.js');
    return new DirStore(location.dataDir, opts);
  }
  const { openPostgresStore } = await import('./postgres/pg-store.js');
  return openPostgresStore(location.url);
}

/** The CaStore the core works on. A data dir that does not exist yet is created only by CaStore.create() (auth init). */
export async function openCaStore(location: StoreLocation): Promise<CaStore> {
  if (location.kind === 'dir') {
    const { DirCaStore } = await import('./local/dir-ca-store.js');
    return new DirCaStore(location.dataDir);
  }
  const { openBridgedStore } = await import('./postgres/bridge.js');
  return openBridgedStore(location.url);
}
