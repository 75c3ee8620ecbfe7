/**
 * The container lifecycle as an explicit state machine (see types.ts, ContainerPhase): PREPARING ->
 * ISOLATING -> RUNNING -> DESTROYING -> TERMINATED; a launch that fails or is killed goes from
 * PREPARING or ISOLATING straight to DESTROYING. Recovered containers start in RUNNING.
 *
 * ```ts
 * c.phase = nextPhase(c.phase, 'ISOLATING');   // throws on an illegal move
 * ```
 */
import type { ContainerPhase } from './types';

/** PHASE_TRANSITIONS lists the legal moves of a container. */
export const PHASE_TRANSITIONS: Readonly<Record<ContainerPhase, readonly ContainerPhase[]>> = {
  PREPARING: ['ISOLATING', 'DESTROYING'],
  ISOLATING: ['RUNNING', 'DESTROYING'],
  RUNNING: ['DESTROYING'],
  DESTROYING: ['TERMINATED'],
  TERMINATED: [],
};

/** nextPhase returns `to` when the move is legal and throws otherwise (a bug in the containerizer). */
export function nextPhase(from: ContainerPhase, to: ContainerPhase): ContainerPhase {
  if (!PHASE_TRANSITIONS[from].includes(to)) throw new Error(`container lifecycle: illegal transition ${from} -> ${to}`);
  return to;
}

/** Deferred is a promise with its resolve exposed. */
export class Deferred<T> {
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  settled = false;

  constructor() {
    this.promise = new Promise<T>((resolve) => {
      this.resolve = (v: T) => {
        this.settled = true;
        resolve(v);
      };
    });
  }
}
