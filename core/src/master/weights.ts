/**
 * Role weights, set by operators as with Mesos's master (src/master/weights_handler.cpp): a role's
 * weight divides its dominant share in fair sharing (weight 2 gets twice the resources of weight 1 when
 * both want more). Roles never set weigh 1.
 *
 * An update is checked (each role valid, surrounding whitespace trimmed; each weight a finite number
 * > 0), written to the registry before the call is answered, kept in `master.weights` and sent to the
 * allocator module (`update_weights`). When a role that has frameworks changes weight, every outstanding
 * offer is rescinded, so the new shares apply at once rather than as offers come back.
 *
 * ```ts
 * updateWeights(master, [{ role: 'prod', weight: 2 }, { role: 'dev', weight: 1 }]);
 * ```
 */
import type { Master } from './master';
import { MasterError } from './master-error';
import { rolesOf } from './model/abi';
import type { RegisteredWeight } from './registry';
import { roleProblem } from './reservations';

/** A `mesos.v1.WeightInfo` in the wire layer's plain shape. */
export interface WireWeightInfo {
  weight: number;
  role?: string;
}

/** checkWeights validates weight infos and returns them trimmed, or throws a MasterError (400) naming the role and what is wrong. */
export function checkWeights(infos: readonly WireWeightInfo[]): RegisteredWeight[] {
  return infos.map((w) => {
    const role = (w.role ?? '').trim();
    const bad = role === '' ? 'a role name must not be empty' : roleProblem(role);
    if (bad) throw new MasterError(400, `Failed to validate update weights request: Invalid role '${role}': ${bad}`);
    if (!(w.weight > 0) || !Number.isFinite(w.weight)) {
      throw new MasterError(400, `Failed to validate update weights request for role '${role}': Invalid weight '${w.weight}': Weights must be positive finite numbers (roles not set weigh 1)`);
    }
    return { role, weight: w.weight };
  });
}

/** updateWeights applies UPDATE_WEIGHTS (and `PUT /weights`); throws MasterError 400 or 503 with nothing changed. */
export function updateWeights(master: Master, infos: readonly WireWeightInfo[]): void {
  const weights = checkWeights(infos);
  if (weights.length === 0) return;
  try {
    master.opts.registry?.updateWeights(weights);
  } catch (err) {
    throw new MasterError(503, `the weights were not recorded (${(err as Error).message}); nothing changed: try again once the master's --work_dir is writable`);
  }
  for (const w of weights) master.weights.set(w.role, w.weight);
  // Before the rescinds below: their resources must come back to an allocator that knows the weights.
  master.link.send({ updateWeights: { weights } });
  master.opts.log.info(`an operator set role weights: ${weights.map((w) => `${w.role}=${w.weight}`).join(', ')}`);
  const changed = new Set(weights.map((w) => w.role));
  const active = [...master.frameworks.values()].some((f) => rolesOf(f.info).some((r) => changed.has(r)));
  if (active) for (const id of [...master.offers.keys()]) master.rescind(id);
}
