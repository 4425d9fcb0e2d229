// Where a worker thread's code is. Unbundled (tsc output), a thread module starts itself from
// its own file; bundled (scripts/bundle.mjs), each thread module is a bundle of its own beside
// the CLI's, because the CLI bundle only evaluates a module when a command first imports it.
// The build finds thread modules by their call `threadEntry(import.meta.url, '<own file name>')`
// and fails on a `new Worker` without one.
declare const __TCTL_BUNDLED__: boolean | undefined;

export function threadEntry(moduleUrl: string, name: string): URL {
  return typeof __TCTL_BUNDLED__ === 'boolean' ? new URL(`./${name}.cjs`, moduleUrl) : new URL(moduleUrl);
}
