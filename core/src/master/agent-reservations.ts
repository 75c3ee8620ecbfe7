/**
 * The master's side of dynamic reservations: an agent's total is what the agent declares plus the
 * dynamic reservations made on it (Mesos's "checkpointed resources"). This file keeps the three holders
 * of that total in step when an ACCEPT reserves or unreserves — the master's agent record, the registry
 * (so a restarted master still has the reservations) and the allocator module — and rebuilds the total
 * when an agent (re-)registers or reports new resources.
 *
 * The allocator learns a conversion with inputs of allocator ABI 1.0, in one batch: the framework gives
 * back the resources of the accepted offers (`recover_resources`, no filter), the agent gets its new
 * total (`update_agent`), and the framework takes the converted offer back (`update_allocation`). As
 * `update_allocation` adds only what the framework does not hold yet in a role on the agent, it names
 * everything the framework holds there in the roles concerned (its other offers and its tasks too).
 * The ACCEPT then recovers what it left unused, with its filters, as always.
 */
import type { Master } from './master';
import { MasterError } from './master-error';
import { rolesOf, toAbiResource } from './model/abi';
import type { Resource } from './model/mesos';
import { describeResources, ResourceBag } from './model/resources';
import { convertTotal, dynamicReservations, unallocated, withDynamicReservations, type Conversion } from './reservations';
import type { AgentRecord, FrameworkRecord } from './state';

/**
 * commitConversions makes the conversions of one ACCEPT real. `offered` is what the accepted offers
 * held; `held` is what they hold after the conversions (before launches). The registry write comes
 * first: when it throws (TSR_REGISTRY_WRITE_FAILED), nothing has changed.
 */
export function commitConversions(master: Master, f: FrameworkRecord, agent: AgentRecord, conversions: readonly Conversion[], offered: readonly Resource[], held: readonly Resource[]): void {
  const total = convertTotal(agent.total, conversions);
  master.opts.registry?.setReservations(agent.id, dynamicReservations(total));
  agent.total = total;
  master.link.send({ recoverResources: { frameworkId: f.id, agentId: agent.id, resources: offered.map(toAbiResource) } });
  master.link.send({ updateAgent: { agentId: agent.id, total: total.map(toAbiResource), capabilities: agent.capabilities } });
  master.link.send({ updateAllocation: { frameworkId: f.id, agentId: agent.id, role: '', resources: holdingIn(master, f, agent, held).map(toAbiResource) } });
  for (const c of conversions) {
    const what = c.operation === 'RESERVE' ? `reserved ${describeResources(c.converted)}` : `unreserved ${describeResources(c.consumed)}`;
    master.opts.log.info(`framework ${f.id} ${what} on agent ${agent.id} (${agent.info.hostname})`);
  }
}

/**
 * commitOperatorConversion applies an operator's RESERVE_RESOURCES or UNRESERVE_RESOURCES (Mesos's
 * master/http.cpp `_operation`): the agent's outstanding offers are rescinded so that their resources
 * count as free, and the conversion must fit in what its tasks leave free (else MasterError 409, as
 * Mesos's Conflict). Then registry, agent record and allocator (`update_agent`) get the new total; the
 * converted resources are offered in the next cycles.
 */
export function commitOperatorConversion(master: Master, agent: AgentRecord, conversion: Conversion): void {
  if (master.opts.hooks?.pendingOn(agent.id)) {
    throw new MasterError(409, `Cannot change reservations on agent ${agent.id} (${agent.info.hostname}) now: tasks launched on it are waiting for their master hooks; try again in a moment`);
  }
  const free = ResourceBag.of(agent.total);
  for (const t of agent.tasks.values()) free.subtract((t.task.resources ?? []).map(unallocated));
  if (!free.contains(conversion.consumed)) {
    const verb = conversion.operation === 'RESERVE' ? 'reserve' : 'unreserve';
    throw new MasterError(
      409,
      `Cannot ${verb} ${describeResources(conversion.consumed)} on agent ${agent.id} (${agent.info.hostname}): they are not free there; ` +
        `free (neither used by tasks nor reserved otherwise): ${describeResources(free.toList()) || 'nothing'}. Kill tasks that use them, or ${verb} less`,
    );
  }
  for (const id of [...agent.offers]) master.rescind(id);
  const total = convertTotal(agent.total, [conversion]);
  try {
    master.opts.registry?.setReservations(agent.id, dynamicReservations(total));
  } catch (err) {
    throw new MasterError(503, `the reservation was not recorded (${(err as Error).message}); nothing changed: try again once the master's --work_dir is writable`);
  }
  agent.total = total;
  master.link.send({ updateAgent: { agentId: agent.id, total: total.map(toAbiResource), capabilities: agent.capabilities } });
  const what = conversion.operation === 'RESERVE' ? `reserved ${describeResources(conversion.converted)}` : `unreserved ${describeResources(conversion.consumed)}`;
  master.opts.log.info(`an operator ${what} on agent ${agent.id} (${agent.info.hostname})`);
}

// Everything the framework holds on the agent in the roles of `held`: `held` itself, its other offers
// there, and its tasks there.
function holdingIn(master: Master, f: FrameworkRecord, agent: AgentRecord, held: readonly Resource[]): Resource[] {
  const frameworkRoles = rolesOf(f.info);
  const fallback = frameworkRoles.length === 1 ? frameworkRoles[0] : undefined;
  const roles = new Set(held.map((r) => r.allocation_info?.role));
  const out = [...held];
  for (const id of agent.offers) {
    const o = master.offers.get(id);
    if (o?.frameworkId === f.id && roles.has(o.role)) out.push(...(o.offer.resources ?? []));
  }
  for (const t of agent.tasks.values()) {
    if (t.frameworkId !== f.id) continue;
    for (const r of t.task.resources ?? []) {
      const role = r.allocation_info?.role ?? fallback;
      if (role !== undefined && roles.has(role)) out.push(r.allocation_info ? r : { ...r, allocation_info: { role } });
    }
  }
  return out;
}

/**
 * agentTotal is the total of an agent that (re-)registers or reports new resources: `declared` with the
 * agent's dynamic reservations on top — those of `previousTotal` when the master knows the agent, else
 * those of the registry. Reservations the declared resources no longer hold are dropped (logged, and
 * forgotten by the registry).
 */
export function agentTotal(master: Master, agentId: string, hostname: string, declared: readonly Resource[], previousTotal?: readonly Resource[]): Resource[] {
  const registry = master.opts.registry;
  const reserved = previousTotal ? dynamicReservations(previousTotal) : (registry?.reservationsOf(agentId) ?? []);
  const { total, dropped } = withDynamicReservations(declared, reserved);
  if (dropped.length) {
    master.opts.log.warn(
      `agent ${agentId} (${hostname}) no longer declares the resources of its dynamic reservations ${describeResources(dropped)}; they are dropped. ` +
        'If that is a mistake, restart the agent with its former --resources and reserve again',
    );
    try {
      registry?.setReservations(agentId, dynamicReservations(total));
    } catch (err) {
      master.opts.log.error(`registry: the dropped reservations of agent ${agentId} were not recorded: ${(err as Error).message}`);
    }
  }
  return total;
}
