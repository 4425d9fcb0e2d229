// The command tree and the one error boundary. Command modules load lazily so that
// `tctl --help` and `tctl auth export` start close to bare Node.
import * as fs from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import type { HelpContext } from 'commander';
import { TctlError, UsageError } from '../errors.js';
import type { GlobalOptions } from './context.js';
import { helpWidth, printError, stderrBytes, stdout, stdoutBytes } from './output.js';

/** Exit codes: 0 ok, 1 the command failed, 2 the command line was wrong. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Set by the bundler (scripts/bundle.mjs); the unbundled build reads package.json. */
declare const __TCTL_VERSION__: string | undefined;

function version(): string {
  if (typeof __TCTL_VERSION__ === 'string') return __TCTL_VERSION__;
  const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Commander's own errors say "unknown option '--principal=x'" with no useful suggestion (it
 * compares the whole "--principal=x") and point nowhere. Ours name the closest flag or command
 * and the help of the command the user was typing.
 */
class TctlCommand extends Command {
  override createCommand(name?: string): Command {
    return new TctlCommand(name);
  }

  // Commander calls this first when it parses a command, so a command's details are defined
  // just in time (see details()).
  override saveStateBeforeParse(): void {
    completeDetails(this);
    super.saveStateBeforeParse();
  }

  // A command's help lists its subcommands with their options and arguments.
  override helpInformation(contextOptions?: HelpContext): string {
    completeDetails(this);
    for (const c of this.commands) completeDetails(c);
    return super.helpInformation(contextOptions);
  }

  unknownOption(flag: string): never {
    const name = flag.replace(/=.*$/s, '');
    const candidates: string[] = [];
    for (let c: Command | null = this; c; c = c.parent) {
      for (const o of c.options) if (o.long && !o.hidden) candidates.push(o.long);
    }
    // A one-letter flag is too short for a meaningful "did you mean".
    throw this.usageError(`unknown option '${flag}'`, name.startsWith('--') ? closest(name, candidates) : undefined);
  }

  unknownCommand(): never {
    const name = this.args[0] ?? '';
    const candidates = this.commands.map((c) => c.name());
    throw this.usageError(`unknown command '${name}'${this.parent ? ` for "${commandPath(this)}"` : ''}`, closest(name, candidates));
  }

  override error(message: string): never {
    throw this.usageError(message.replace(/^error: /, '').split('\n')[0]!, undefined);
  }

  private usageError(message: string, suggestion: string | undefined): UsageError {
    const help = `see "${commandPath(this)} --help"`;
    return new UsageError(message, suggestion ? `did you mean ${suggestion}? ${help}` : help);
  }
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The candidate nearest to what was typed (edit distance ≤ 3 and less than half its length), if any. */
export function closest(typed: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of new Set(candidates)) {
    const d = editDistance(typed, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const bare = typed.replace(/^-+/, '');
  return best !== undefined && bestDistance <= Math.min(3, Math.ceil(bare.length / 2)) ? best : undefined;
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return Math.max(a.length, b.length);
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

const examples = (lines: string[]) => `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;

const pendingDetails = new WeakMap<Command, (cmd: Command) => void>();

/**
 * A command's options, arguments, help text and action, defined only when the command is run or
 * its help (or its parent's) is shown: defining every command's options was a tenth of the
 * start-up time of a command that runs one.
 */
function details(cmd: Command, define: (cmd: Command) => Command): void {
  pendingDetails.set(cmd, define);
}

function completeDetails(cmd: Command): void {
  const define = pendingDetails.get(cmd);
  pendingDetails.delete(cmd);
  define?.(cmd);
}

/** Global options are accepted before the subcommand and after it. */
function globals(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data dir holding the CA (env TCTL_DATA_DIR)')
    .option('--backend <url>', 'PostgreSQL holding the CA instead of a data dir: postgresql://user@host/db (env TCTL_BACKEND)')
    .option('-c, --config <file>', 'teleport.yaml to read teleport.data_dir, teleport.storage and auth_service.cluster_name from')
    .option('-d, --debug', 'show stack traces on errors (env TCTL_DEBUG=1)')
    .option('--passphrase-file <file>', 'passphrase of encrypted CA keys (env TCTL_CA_PASSPHRASE_FILE; on a terminal tctl asks)')
    .addOption(new Option('--auth-server <addr>').hideHelp())
    .addOption(new Option('-i, --identity <file>').hideHelp());
}

type Action<T> = (opts: T & GlobalOptions) => Promise<void>;
type KeyUse = import('./ca-keys.js').KeyUse;

/**
 * Runs a command. keys says what it does with the CA private keys (a function: it depends on
 * its flags); such commands get the passphrase once and one token session, closed at the end.
 */
function run<T>(load: () => Promise<Action<T>>, keys?: KeyUse | ((opts: Record<string, unknown>) => KeyUse | undefined)) {
  return async (_opts: unknown, cmd: Command) => {
    const action = await load();
    const opts = cmd.optsWithGlobals() as T & GlobalOptions;
    const use = typeof keys === 'function' ? keys(opts as Record<string, unknown>) : keys;
    try {
      if (!use || (use === 'check' && !keySettingsGiven(opts))) return await action(opts);
      const { openCaKeys, closeCaKeys } = await import('./ca-keys.js');
      try {
        await openCaKeys(opts, use);
        await action(opts);
      } finally {
        closeCaKeys();
      }
    } finally {
      (await import('./context.js')).closeStore();
    }
  };
}

/**
 * A command that only checks keys (export, status) never asks for anything, so with no
 * passphrase file and no PKCS#11 settings there is nothing to set up: it skips loading the key
 * access code, which keeps `auth export` start-up close to bare Node.
 */
function keySettingsGiven(opts: GlobalOptions): boolean {
  return opts.passphraseFile !== undefined || opts.config !== undefined || Object.entries(process.env).some(([k, v]) => v !== undefined && v !== '' && (k === 'TCTL_CA_PASSPHRASE_FILE' || k.startsWith('TCTL_PKCS11_')));
}

export function buildProgram(): Command {
  const program = globals(new TctlCommand('tctl'))
    .description('A certificate authority for OpenSSH fleets: sign host and user certificates, export CA keys for sshd and known_hosts.')
    .version(`tctl v${version()}`, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError(false)
    .exitOverride()
    // Help and the version go through our writers (output.ts), like everything else tctl prints;
    // commander's defaults would set up the stdout stream to ask whether it is a terminal.
    .configureOutput({
      outputError: () => {},
      writeOut: stdoutBytes,
      writeErr: stderrBytes,
      getOutHelpWidth: () => helpWidth(1),
      getErrHelpWidth: () => helpWidth(2),
      // tctl's help has no styles, so there are no colours to keep
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    .addHelpText(
      'after',
      examples([
        'tctl auth init --cluster-name=example.com',
        'tctl auth export --type=user > teleport_user_ca.pub',
        'tctl auth sign --host=api.example.com --format=openssh',
        'tctl status',
      ]),
    );

  const auth = program
    .command('auth')
    .description('manage the certificate authorities and sign certificates')
    .addHelpText('after', examples(['tctl auth init --cluster-name=example.com', 'tctl auth sign --user=joe --out=joe --ttl=8h']));

  details(auth.command('init').description('create the user and host certificate authorities (SSH and TLS) and the db and db_client TLS CAs; on a data dir from before TLS support, add the TLS CAs'), (c) => globals(c)
    .option('--cluster-name <name>', 'cluster name (DNS name); default auth_service.cluster_name from --config')
    .option('--ca-key-type <type>', 'SSH CA key type: ed25519, ecdsa (P-256) or rsa (3072 bits); TLS host/user CAs are ECDSA P-256 (RSA-2048 with rsa), db/db_client RSA-2048', 'ed25519')
    .option('--protect', 'encrypt every CA key file under a passphrase (--passphrase-file, TCTL_CA_PASSPHRASE_FILE, or asked twice on a terminal); with PKCS#11 configured (teleport.yaml ca_key_params.pkcs11 or TCTL_PKCS11_*) the keys are made in the token instead')
    .addHelpText(
      'after',
      examples([
        'tctl auth init --cluster-name=example.com',
        'tctl --data-dir=./ca auth init --cluster-name=example.com --ca-key-type=rsa',
        'tctl auth init --cluster-name=example.com --protect --passphrase-file=/run/secrets/ca-pass',
        'tctl --config=/etc/teleport.yaml auth init   # auth_service.ca_key_params.pkcs11: keys made in the HSM',
      ]),
    )
    .action(run(async () => (await import('./commands/auth-init.js')).authInit, 'init')));

  for (const mode of ['protect', 'unprotect'] as const) {
    const description =
      mode === 'protect'
        ? 'encrypt the CA key files in place under a passphrase (scrypt, AES-256-CBC; openssl reads them)'
        : 'decrypt the CA key files back to plain PEM files';
    details(auth.command(mode).description(description), (c) => globals(c)
      .addHelpText(
        'after',
        examples(
          mode === 'protect'
            ? ['tctl auth protect                                   # asks twice on a terminal', 'tctl auth protect --passphrase-file=/run/secrets/ca-pass']
            : ['tctl auth unprotect --passphrase-file=/run/secrets/ca-pass'],
        ),
      )
      .action(run(async () => (await import('./commands/auth-protect.js'))[mode === 'protect' ? 'authProtect' : 'authUnprotect'], 'protect')));
  }

  details(auth.command('export').description('print CA public keys: TrustedUserCAKeys lines (user), known_hosts lines (host), TLS CA certificates'), (c) => globals(c)
    .option(
      '--type <type>',
      'user (alias openssh), host, or krl (binary revocation list for sshd RevokedKeys); default user and host, host first. ' +
        'TLS CA certificates, PEM (every trusted one): tls-host (alias tls), tls-user, db, db-client; DER (one): tls-user-der (alias windows), db-der, db-client-der',
    )
    .option('--fingerprint <fp>', 'only the key with this SHA256 fingerprint (TLS: the CA pin sha256:<hex>)')
    .option('--format <format>', 'user CA line format: openssh (plain key, for TrustedUserCAKeys) or authorized_keys (cert-authority prefix)')
    .option('--host-patterns <patterns>', 'known_hosts patterns for host lines (default: CLUSTER,*.CLUSTER)')
    .option('-o, --out <file>', 'write to this file (atomically) instead of stdout')
    .addHelpText(
      'after',
      examples([
        'tctl auth export --type=user > /etc/ssh/teleport_user_ca.pub   # sshd: TrustedUserCAKeys',
        'tctl auth export --type=host >> ~/.ssh/known_hosts              # @cert-authority line',
        'tctl auth export --type=host --host-patterns="*.corp.example.com"',
        'tctl auth export --type=user --format=authorized_keys >> ~/.ssh/authorized_keys',
        'tctl auth export --type=krl -o /etc/ssh/revoked.krl                # sshd: RevokedKeys',
        'tctl auth export --type=db-client > client-ca.crt                # PostgreSQL: ssl_ca_file',
        'tctl auth export --type=db > db-ca.crt                           # psql: sslrootcert',
      ]),
    )
    .action(run(async () => (await import('./commands/auth-export.js')).authExport, 'check')));

  details(auth.command('sign').description('sign a host or user certificate (generating a key pair unless --public-key is given)'), (c) => globals(c)
    .option('--host <names>', 'host certificate for these comma-separated DNS names and IP addresses')
    .option('--user <name>', 'user certificate for this user (key id; default principal)')
    .option('--principals <names>', 'user certificate principals (login names), comma-separated; default the user name')
    .option(
      '--format <format>',
      'openssh (default); tls, db, redis, elasticsearch, scylla: <out>.key, <out>.crt, <out>.cas; mongodb: <out>.crt (cert then key), <out>.cas; cockroachdb: <out>/node.crt, node.key, ca.crt, ca-client.crt',
    )
    .option('-o, --out <path>', 'openssh: write <path> (private key), <path>.pub and <path>-cert.pub (with --public-key only <path>-cert.pub; default beside the key: KEY.pub gives KEY-cert.pub); TLS formats: see --format; default the first host name or the user name')
    .option('--ttl <duration>', 'validity, e.g. 30m, 8h, 1h30m, 7d (user default 12h; host default never expires; TLS formats 12h, never past the CA certificate)')
    .option('--valid-after <time>', 'start of a fixed validity window (ssh-keygen -V): RFC 3339 (2025-07-01T09:00:00Z) or YYYYMMDD[HHMM[SS]] (local time; Z for UTC); --ttl then counts from it')
    .option('--valid-before <time>', 'end of a fixed validity window, same forms; instead of --ttl; at most 87600h from now')
    .option('--key-type <type>', 'type of the generated key: ed25519 (default), ecdsa or rsa; TLS formats: ecdsa (P-256) or rsa (2048 bits), default rsa for databases and ecdsa for --format=tls')
    .option('--public-key <file>', 'sign this existing public key (e.g. /etc/ssh/ssh_host_ed25519_key.pub; TLS formats: a PEM public key or a PKCS#10 CSR); only the certificate (and CA files) are written; not with --format=mongodb')
    .option('--overwrite', 'replace existing output files')
    .option('--compat <mode>', 'standard (default), or oldssh: omits the Teleport extensions, for very old sshd versions')
    .option('--force-command <cmd>', 'user certificates: critical option force-command')
    .option('--source-address <cidrs>', 'user certificates: critical option source-address (comma-separated CIDRs)')
    .option('--permit <list>', 'user certificates: exactly these permissions (ssh-keygen -O clear then permit-*): pty, port-forwarding, agent-forwarding, x11-forwarding, user-rc, or none; default all of them, only pty with --force-command')
    .option('--no-port-forwarding', 'user certificates: leave out permit-port-forwarding (ssh -L/-R/-W/-D)')
    .option('--no-agent-forwarding', 'user certificates: leave out permit-agent-forwarding')
    .option('--no-x11-forwarding', 'user certificates: leave out permit-X11-forwarding')
    .option('--no-pty', 'user certificates: leave out permit-pty')
    .option('--no-user-rc', 'user certificates: leave out permit-user-rc (~/.ssh/rc)')
    .option('--batch <file>', 'sign one JSON request per line of FILE (- for stdin), e.g. {"host":"a.example.com","public_key":"ssh-ed25519 AAAA..."}')
    .option('--out-dir <dir>', 'with --batch: where to write the <name>-cert.pub files')
    .option('--keep-going', 'with --batch: sign the good lines even if some are bad (exit 1 if any were)')
    .option('--json', 'print one JSON document on stdout (serials, validity, files) instead of the message')
    .option('--add-to-agent', 'with --user: load the key and certificate into the running ssh-agent (ssh-add -t <remaining validity>); checked before signing')
    .addHelpText(
      'after',
      examples([
        'tctl auth sign --host=api.example.com,ssh.example.com,10.0.0.5 --format=openssh',
        'tctl auth sign --host=api.example.com --public-key=/etc/ssh/ssh_host_ed25519_key.pub --out=/etc/ssh/ssh_host_ed25519_key',
        'tctl auth sign --user=joe --out=joe --ttl=8h',
        'tctl auth sign --user=ci --principals=deploy,ubuntu --ttl=1h --source-address=10.0.0.0/8',
        'tctl auth sign --user=backup --force-command="rsync --server --sender -logDtpre.iLsfxC . /srv" --ttl=1h   # no forwarding, pty only',
        'tctl auth sign --user=joe --valid-after=2025-07-01T09:00:00Z --valid-before=2025-07-01T17:00:00Z   # one working day',
        'tctl auth sign --user=joe --out="$HOME/.ssh/tctl_joe" --add-to-agent   # ssh-add for the 12h the certificate lasts',
        'tctl auth sign --user=tunnel --permit=port-forwarding --ttl=8h   # port forwarding and nothing else',
        'tctl auth sign --batch=requests.jsonl --out-dir=certs   # {"user":"joe","principals":["joe"],"ttl":"8h","public_key":"ssh-ed25519 AAAA..."}',
        'tctl auth sign --format=db --host=db.example.com,10.0.0.5 --out=server --ttl=2190h   # PostgreSQL: ssl_cert_file, ssl_key_file, ssl_ca_file',
        'tctl auth sign --format=db --user=alice --out=alice   # a database client certificate (CN=alice)',
        'tctl auth sign --format=tls --host=api.example.com --public-key=api.csr --out=api',
        'tctl auth sign --format=cockroachdb --host=node1.example.com,10.0.0.7 --out=certs',
      ]),
    )
    .action(run(async () => (await import('./commands/auth-sign.js')).authSign, 'sign')));

  details(auth.command('rotate').description('rotate a CA without locking the fleet out (Teleport phases: init, update_clients, update_servers, standby, rollback)'), (c) => globals(c)
    .option('--type <type>', 'which CA: user (alias openssh) or host (each with its TLS key), db or db_client (alias db-client); asked on a terminal when omitted')
    .option('--grace-period <duration>', 'auto mode: time over which the phases advance, a third each (default 30h); 0 completes at once')
    .option('--manual', 'move to --phase yourself instead of by the clock')
    .option('--phase <phase>', 'with --manual: init, update_clients, update_servers, standby or rollback')
    .option('--ca-key-type <type>', 'key type of the new CA key (default: same as the current key); TLS keys: ecdsa (P-256) or rsa (2048 bits), ed25519 keeps a host/user TLS key type')
    .option('-y, --yes', 'do not ask before steps that drop a CA key')
    .option('--json', 'print one JSON document on stdout (type, phases, keys, schedule); needs --type')
    .addHelpText(
      'after',
      examples([
        'tctl auth rotate --type=user --manual --phase=init            # trust a new key alongside the old',
        'tctl auth rotate --type=user --manual --phase=update_clients  # the new key signs',
        'tctl auth rotate --type=user --manual --phase=update_servers',
        'tctl auth rotate --type=user --manual --phase=standby         # drop the old key',
        'tctl auth rotate --type=host --grace-period=48h               # the same, driven by the clock',
      ]),
    )
    .action(
      // Only a step that makes a key needs to open one (to encrypt the new key the same way).
      run(async () => (await import('./commands/auth-rotate.js')).authRotate, (o) => (o.manual && o.phase !== 'init' ? undefined : 'sign')),
    ));

  details(auth.command('inspect').description('decode OpenSSH certificates and lint them; exits 1 when any has an error-level finding'), (c) => globals(c)
    .argument('<files...>', 'certificate files (*-cert.pub)')
    .option('--json', 'one JSON document: an array of {file, certificate, findings}')
    .addHelpText('after', examples(['tctl auth inspect joe-cert.pub', 'tctl auth inspect --json /etc/ssh/*-cert.pub']))
    // not run(): with an argument, commander calls the action as (files, opts, cmd)
    .action(async (files: string[], _opts: unknown, cmd: Command) => {
      const { authInspect } = await import('./commands/auth-inspect.js');
      await authInspect(files, cmd.optsWithGlobals());
    }));

  details(auth.command('revoke').description('revoke a certificate (by serial, key id or file) or a public key; deploy with "auth export --type=krl" (SSH) or "auth crl" (TLS)'), (c) => globals(c)
    .option('--serial <n>', 'a serial from "tctl auth ls": decimal for SSH (ssh-keygen -L), hex for TLS (openssl x509 -serial; 0x and colons allowed)')
    .option('--key-id <id>', 'every certificate with this key id from one CA (tctl refuses to sign it again)')
    .option('--type <type>', 'with --key-id: user or host; needed when the issuance log has the key id under both CAs, or not at all')
    .option('--cert <file>', 'a certificate this CA signed: OpenSSH, or X.509 in PEM or DER')
    .option('--public-key <file>', 'a public key, and with it every certificate for it')
    .option('--reason <text>', 'why, for the record')
    .option('--json', 'print one JSON document on stdout: the revocation record and where to deploy the new list')
    .addHelpText(
      'after',
      examples([
        'tctl auth revoke --serial=42 --reason="laptop lost"',
        'tctl auth revoke --cert=joe-cert.pub',
        'tctl auth revoke --key-id=joe',
        'tctl auth revoke --key-id=web1.example.com --type=host',
        'tctl auth export --type=krl -o /etc/ssh/revoked.krl   # sshd: RevokedKeys /etc/ssh/revoked.krl',
      ]),
    )
    .action(run(async () => (await import('./commands/auth-revoke.js')).authRevoke)));

  details(auth.command('crl').description('print the certificate revocation list of a TLS CA: one CRL per trusted key (DER on stdout, or PEM)'), (c) => globals(c)
    .option('--type <type>', 'which TLS CA: db-client (alias db_client), db, user or host')
    .option('--format <format>', 'der (default; one CRL) or pem (every trusted key\'s CRL, for PostgreSQL ssl_crl_file and nginx ssl_crl)')
    .option('--ttl <duration>', 'nextUpdate: how long the CRL is valid (default 8760h); redeploy before then, PostgreSQL refuses every client after it')
    .option('--fingerprint <pin>', 'only the CRL of the trusted key with this pin (sha256:..., see tctl status): one DER CRL during a rotation')
    .option('-o, --out <file>', 'write to this file (atomically) instead of stdout')
    .addHelpText(
      'after',
      examples([
        'tctl auth revoke --serial=3b1f...   # the hex serial from "tctl auth ls"',
        'tctl auth crl --type=db-client --format=pem -o /etc/postgresql/db-client.crl   # PostgreSQL: ssl_crl_file',
        'tctl auth crl --type=db-client > db-client.crl   # DER, as Teleport prints it',
      ]),
    )
    .action(run(async () => (await import('./commands/auth-crl.js')).authCrl, 'sign')));

  details(auth.command('ls').description('list issued certificates from the issuance log'), (c) => globals(c)
    .option('--type <type>', 'user or host (SSH), or a TLS profile: tls-user, tls-host, db-server, db-client, cockroachdb-node')
    .option('--principal <name>', 'only certificates for this principal')
    .option('--valid', 'only valid certificates')
    .option('--expired', 'only expired certificates')
    .option('--revoked', 'only revoked certificates')
    .option('--untrusted', 'only certificates whose CA key a rotation retired (status untrusted-ca)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', examples(['tctl auth ls', 'tctl auth ls --type=user --principal=joe --valid', 'tctl auth ls --revoked --json']))
    .action(run(async () => (await import('./commands/auth-ls.js')).authLs)));

  const audit = program.command('audit').description('the tamper-evident audit log of state changes');
  details(audit.command('verify').description('check the hash chain of the audit log and name the first broken line'), (c) => globals(c)
    .option('--json', 'print one JSON document on stdout: {file, intact, entries} or {file, intact: false, intactEntries, brokenLine, reason}')
    .addHelpText('after', examples(['tctl audit verify']))
    .action(run(async () => (await import('./commands/audit-verify.js')).auditVerify)));

  const backend = program.command('backend').description('where the CA is kept: a data dir or PostgreSQL');
  details(
    backend
      .command('clone')
      .description('copy the CA (state, keys, serial counter, issuance log, revocations, audit chain) into an empty data dir or database; also the backup and restore command'),
    (c) =>
      globals(c)
        .option('--from <dir|url>', 'the store to copy: a data dir path or a postgresql:// URL')
        .option('--to <dir|url>', 'an empty data dir (created when missing) or an empty PostgreSQL database')
        .addHelpText(
          'after',
          examples([
            'tctl backend clone --from=/var/lib/tctl --to=postgresql://tctl@db.example.com/tctl',
            'tctl backend clone --from=postgresql://tctl@db.example.com/tctl --to=./tctl-backup-$(date +%F)',
          ]),
        )
        .action(run(async () => (await import('./commands/backend-clone.js')).backendClone)),
  );

  const ssh = program.command('ssh').description('OpenSSH configuration for this cluster');
  details(ssh.command('config').description('print the sshd_config lines for a server (--host) or the ssh_config block for a client (--user)'), (c) => globals(c)
    .option('--host', 'sshd_config: TrustedUserCAKeys, RevokedKeys, HostKey, HostCertificate')
    .option('--user', 'ssh_config: a Host block with UserKnownHostsFile (@cert-authority lines), StrictHostKeyChecking, RevokedHostKeys')
    .option('--user-ca-keys <path>', 'with --host: where the user CA export goes (default /etc/ssh/teleport_user_ca.pub)')
    .option('--revoked-keys <path>', 'with --host: where the KRL goes (default /etc/ssh/revoked.krl)')
    .option('--host-key <path>', 'with --host: the host private key (default /etc/ssh/ssh_host_ed25519_key)')
    .option('--host-certificate <path>', 'with --host: its certificate (default <host-key>-cert.pub)')
    .option('--known-hosts <path>', 'with --user: where the host CA export goes (default ~/.ssh/known_hosts.CLUSTER)')
    .option('--revoked-host-keys <path>', 'with --user: where the KRL goes (default ~/.ssh/revoked.CLUSTER.krl)')
    .option('--identity-file <path>', 'with --user: a key from "auth sign --user" (ssh loads <path>-cert.pub beside it)')
    .option('--host-patterns <patterns>', 'with --user: the hosts the block covers (default CLUSTER,*.CLUSTER)')
    .addHelpText(
      'after',
      examples([
        'tctl ssh config --host >> /etc/ssh/sshd_config.d/tctl.conf',
        'tctl ssh config --host --host-key=/etc/ssh/ssh_host_ecdsa_key',
        'tctl ssh config --user >> ~/.ssh/config',
        'tctl ssh config --user --identity-file=~/.ssh/joe --host-patterns="*.example.com,10.0.0.*"',
      ]),
    )
    .action(run(async () => (await import('./commands/ssh-config.js')).sshConfig)));

  // Teleport's tctl has a version command too; scripts call it.
  program
    .command('version')
    .description('print the version')
    .action(() => {
      stdout(`tctl v${version()}`);
    });

  details(program.command('status').description('show the cluster name and each CA key (scripts poll it to wait until the CA is ready)'), (c) => globals(c)
    .option('--json', 'machine-readable output')
    .addHelpText('after', examples(['tctl status', 'tctl status --json | jq -r .authorities.user.fingerprint']))
    .action(run(async () => (await import('./commands/status.js')).status, 'check')));

  return program;
}

function wantsDebug(argv: string[]): boolean {
  return process.env.TCTL_DEBUG === '1' || argv.includes('--debug') || argv.includes('-d');
}

/** The backend URL a command line names, when it runs a command that opens it (not help or version). */
function namedBackend(argv: string[]): string | undefined {
  if (argv.some((a) => a === '-h' || a === '--help' || a === '-v' || a === '--version' || a === 'help' || a === 'version')) return undefined;
  const i = argv.findIndex((a) => a === '--backend' || a.startsWith('--backend='));
  // A --data-dir flag beats TCTL_BACKEND.
  if (i < 0 && argv.some((a) => a === '--data-dir' || a.startsWith('--data-dir='))) return undefined;
  const url = i < 0 ? process.env.TCTL_BACKEND : argv[i] === '--backend' ? argv[i + 1] : argv[i]!.slice('--backend='.length);
  return url && /^postgres(ql)?:\/\//i.test(url) && !argv.includes('backend') ? url : undefined;
}

export async function main(argv: string[]): Promise<number> {
  const debug = wantsDebug(argv);
  try {
    const url = namedBackend(argv);
    if (url !== undefined) (await import('../store/postgres/bridge.js')).startEarly(url);
    await buildProgram().parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT_OK;
      const message = err.message.replace(/^error: /, '');
      await printError(new TctlError(message, { hint: 'see "tctl --help"' }), false);
      return EXIT_USAGE;
    }
    if (err instanceof TctlError) {
      await printError(err, debug);
      return err.kind === 'usage' ? EXIT_USAGE : EXIT_FAILURE;
    }
    const unexpected = new TctlError(`unexpected failure: ${(err as Error)?.message ?? String(err)}`, { hint: 'rerun with --debug for details' });
    if (err instanceof Error) unexpected.stack = err.stack;
    await printError(unexpected, debug);
    return EXIT_FAILURE;
  }
}
