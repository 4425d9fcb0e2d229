// Loading a freshly signed key and certificate into the user's running ssh-agent, by the real
// ssh-add: the agent is asked before anything is signed, so "no agent" never costs a serial.
import { spawnSync } from 'node:child_process';
import { TctlError } from '../errors.js';

const NO_AGENT_HINT = 'start one with: eval "$(ssh-agent)", or sign without --add-to-agent and run ssh-add yourself';

function sshAdd(args: string[], sock: string) {
  const r = spawnSync('ssh-add', args, { env: { ...process.env, SSH_AUTH_SOCK: sock }, encoding: 'utf8', input: '', timeout: 15_000 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    throw new TctlError(code === 'ENOENT' ? '--add-to-agent needs ssh-add, which is not installed' : `cannot run ssh-add: ${r.error.message}`);
  }
  return r;
}

/** The agent's socket, once ssh-add has reached it; throws when there is no agent to reach. */
export function checkAgent(): string {
  const sock = process.env.SSH_AUTH_SOCK;
  if (sock === undefined || sock === '') throw new TctlError('--add-to-agent: no ssh-agent (SSH_AUTH_SOCK is not set); nothing was signed', { hint: NO_AGENT_HINT });
  // ssh-add -l: 0 lists keys, 1 means an agent with none, 2 means it could not talk to one.
  const r = sshAdd(['-l'], sock);
  if (r.status !== 0 && r.status !== 1) {
    const why = (r.stderr || '').trim().split('\n')[0] || `ssh-add exited ${r.status}`;
    throw new TctlError(`--add-to-agent: cannot reach the ssh-agent at ${sock} (${why}); nothing was signed`, { hint: NO_AGENT_HINT });
  }
  return sock;
}

/**
 * ssh-add KEY loads KEY and KEY-cert.pub beside it; -t makes the agent forget both when the
 * certificate expires, so no expired certificate lingers to be offered.
 */
export function addToAgent(sock: string, privateKeyFile: string, lifetimeSeconds: number): void {
  const r = sshAdd(['-t', String(lifetimeSeconds), privateKeyFile], sock);
  if (r.status !== 0) {
    const why = (r.stderr || '').trim().split('\n')[0] || `ssh-add exited ${r.status}`;
    throw new TctlError(`the certificate was signed and written, but ssh-add could not load it: ${why}`, { hint: `try: ssh-add -t ${lifetimeSeconds} ${privateKeyFile}` });
  }
}
