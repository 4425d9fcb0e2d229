// `tctl auth rotate` on a terminal with no flags: walks the operator through one step (which CA,
// where its rotation stands, what to do now, confirm). The prompts are @inquirer's, loaded only
// here, and drawn on stderr: stdout stays for data.
import type { RotateAction, RotatingCa } from '../../ca/authority.js';
import { TctlError } from '../../errors.js';
import { PHASE_TABLE } from '../../rotation/phases.js';
import type { Phase } from '../../rotation/phases.js';
import { DEFAULT_GRACE_SECONDS } from '../../rotation/rotate.js';
import { formatDuration } from '../../ca/duration.js';
import type { State } from '../../store/state.js';
import { stderr } from '../output.js';

export interface GuidedStep {
  caType: RotatingCa;
  from: Phase;
  action: RotateAction;
}

/** What each phase asks of an OpenSSH fleet before the next step, in the operator's words. */
const MOVES: Record<Phase, Array<{ to: Phase; name: string }>> = {
  standby: [{ to: 'init', name: 'start a manual rotation: create a new key, trusted beside the old one (init)' }],
  init: [
    { to: 'update_clients', name: 'the new key has been pushed everywhere: let it sign (update_clients)' },
    { to: 'rollback', name: 'back out: the old key keeps signing (rollback)' },
  ],
  update_clients: [
    { to: 'update_servers', name: 'certificates have been re-signed: last round for stragglers (update_servers)' },
    { to: 'rollback', name: 'back out: the old key signs again (rollback)' },
  ],
  update_servers: [
    { to: 'standby', name: 'complete the rotation: drop the old key (standby)' },
    { to: 'rollback', name: 'back out: the old key signs again (rollback)' },
  ],
  rollback: [{ to: 'standby', name: 'finish the rollback: drop the new key (standby)' }],
};

function phaseOf(state: State, t: RotatingCa): { phase: Phase; mode?: string; startedAt?: string } | undefined {
  const a = t === 'user' || t === 'host' ? state.authorities[t] : state.tls?.[t];
  return a ? { phase: a.rotation.phase, mode: a.rotation.mode, startedAt: a.rotation.startedAt } : undefined;
}

/**
 * Asks the questions; returns the step to take, already confirmed. warning gives the cost of a
 * step that drops a key (the same words as the non-guided confirmation).
 */
export async function guidedRotation(state: State, cas: readonly RotatingCa[], warning: (caType: RotatingCa, from: Phase, action: RotateAction) => string | undefined): Promise<GuidedStep> {
  const [{ default: select }, { default: confirm }] = await Promise.all([import('@inquirer/select'), import('@inquirer/confirm')]);
  const context = { input: process.stdin, output: process.stderr, clearPromptOnDone: false };
  try {
    const choices = cas.flatMap((t) => {
      const p = phaseOf(state, t);
      if (!p) return [];
      const where = p.phase === 'standby' ? 'at rest (standby)' : `rotating: phase ${p.phase}${p.mode ? `, ${p.mode}` : ''}${p.startedAt ? `, started ${p.startedAt}` : ''}`;
      return [{ value: t, name: `${t} CA: ${where}` }];
    });
    const caType = await select({ message: 'Rotate which certificate authority?', choices }, context);
    const from = phaseOf(state, caType)!.phase;
    stderr(`The ${caType} CA is in phase "${from}". To do in this phase: ${PHASE_TABLE[from].todo}.`);

    type Choice = { kind: 'move'; to: Phase } | { kind: 'auto' } | { kind: 'nothing' };
    const moves: Array<{ value: Choice; name: string }> = MOVES[from].map((m) => ({ value: { kind: 'move', to: m.to }, name: m.name }));
    if (from === 'standby') {
      moves.push({ value: { kind: 'auto' }, name: `start an automatic rotation: the phases advance by the clock over ${formatDuration(DEFAULT_GRACE_SECONDS)}` });
    }
    moves.push({ value: { kind: 'nothing' }, name: 'nothing for now' });
    const choice = await select({ message: 'What now?', choices: moves }, context);
    if (choice.kind === 'nothing') throw new TctlError(`not rotating the ${caType} CA`, { hint: `"tctl status" shows where each rotation stands` });
    const action: RotateAction = choice.kind === 'auto' ? { kind: 'auto', gracePeriodSeconds: DEFAULT_GRACE_SECONDS } : { kind: 'manual', phase: choice.to };
    const cost = warning(caType, from, action);
    const what = action.kind === 'auto' ? `start an automatic rotation of the ${caType} CA` : `move the ${caType} CA from "${from}" to "${action.phase}"`;
    if (!(await confirm({ message: `${cost ? `${cost} ` : ''}${what[0]!.toUpperCase()}${what.slice(1)}?`, default: cost === undefined }, context))) {
      throw new TctlError(`not rotating the ${caType} CA`);
    }
    return { caType, from, action };
  } catch (err) {
    // Ctrl-C or a closed terminal: nothing was changed.
    if (err instanceof Error && err.name === 'ExitPromptError') throw new TctlError('cancelled; nothing was changed');
    throw err;
  } finally {
    // The prompts leave stdin flowing; paused, it no longer keeps the process alive after the step.
    process.stdin.pause();
  }
}
