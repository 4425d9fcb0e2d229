// Output of two runs of one script of commands, made comparable: what legitimately differs
// between them (keys, fingerprints, random X.509 serials, times, paths) becomes a placeholder.
// Random values become numbered placeholders in order of first appearance, so the comparison
// still checks that the same key or fingerprint shows up in the same places in both runs.

/** Replaced in this order; each kind of random value gets its own numbering. */
const RANDOM: Array<[string, RegExp]> = [
  ['pem', /-----BEGIN ([A-Z0-9 ]+)-----\n[\s\S]*?\n-----END \1-----/g],
  ['fp', /SHA256:[A-Za-z0-9+/]{43}/g],
  ['fp', /sha256:[0-9a-f]{64}/g],
  ['keyfile', /keys\/[A-Za-z0-9_.+-]+\.pem/g],
  ['key', /AAAA[A-Za-z0-9+/]{16,}={0,2}/g],
  // X.509 serials: 128 random bits in hex (leading zeros dropped).
  ['x509serial', /\b[0-9a-f]{24,40}\b/g],
];

const FIXED: Array<[RegExp, string]> = [
  [/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?/g, '<time>'],
  [/\b\d{8}T\d{6}Z?\b/g, '<time>'],
  [/ in \d+(?:\.\d+)?s\b/g, ' in <duration>'],
];

export class Normaliser {
  private readonly seen = new Map<string, string>();
  private readonly counts = new Map<string, number>();

  /** exact: strings that name this run's places (data dir, URL, cwd), replaced first, longest first. */
  constructor(private readonly exact: Array<[string, string]>) {
    this.exact = [...exact].sort((a, b) => b[0].length - a[0].length);
  }

  private placeholder(kind: string, value: string): string {
    let p = this.seen.get(value);
    if (p === undefined) {
      const n = (this.counts.get(kind) ?? 0) + 1;
      this.counts.set(kind, n);
      p = `<${kind}${n}>`;
      this.seen.set(value, p);
    }
    return p;
  }

  text(s: string): string {
    let out = s;
    for (const [from, to] of this.exact) out = out.split(from).join(to);
    for (const [kind, re] of RANDOM) out = out.replace(re, (m) => this.placeholder(kind, m));
    for (const [re, to] of FIXED) out = out.replace(re, to);
    return out;
  }
}

/** ssh-keygen -Q -l lists a KRL's sections in the order of their CA keys' bytes: sort them by placeholder. */
export function sortKrlSections(listing: string): string {
  const [head, ...sections] = listing.split(/\n(?=# CA key )/);
  return [head, ...sections.map((s) => s.trimEnd()).sort()].join('\n');
}
