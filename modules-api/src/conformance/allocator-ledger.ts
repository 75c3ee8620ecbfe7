// The rules every offer on an Allocate stream must keep, whatever the check: it names an agent and a
// framework the stream knows and has not removed, its resources carry its role, reserved resources go
// to their role (or a descendant), and no agent is ever offered more than it has. The ledger follows
// the inputs the kit sends to know, per agent, its total and what each framework holds (offered or used).
//
// It errs on the lenient side where the ABI leaves room: resources are counted free as soon as the kit
// sends recover_resources (an offer made before the module applied it could not have included them),
// and a removed framework's holdings are forgotten (whether they come back is the master's business).
import type * as T from '../generated/types';
import { amount, describeQuantities, quantities, reservationRole, round, withinRole, type Offer, type Quantities } from './allocator-resources';

const FIX_OVER_OFFER =
  'offered resources stay allocated to the framework until recover_resources gives them back (update_allocation only ' +
  "turns them into used ones), and a snapshot's outstanding_offers and agents' used are allocated too: offer at most " +
  'total − used − offered, and never the same resources twice';

/** AllocatorLedger checks each offer against what the kit told the module; see the file comment. */
export class AllocatorLedger {
  private readonly totals = new Map<string, Quantities>();
  private readonly held = new Map<string, Map<string, Quantities>>();
  private readonly frameworks = new Set<string>();
  private readonly removedAgents = new Map<string, number>();
  private readonly removedFrameworks = new Map<string, number>();
  private readonly found: string[] = [];

  /** problems are the rules seen broken so far, each saying what to fix. */
  get problems(): readonly string[] {
    return this.found;
  }

  /** problem records a broken rule (once). */
  problem(text: string): void {
    if (!this.found.includes(text)) this.found.push(text);
  }

  /** input updates the ledger with an input the kit sends as `seq`. */
  input(seq: number, input: Omit<T.AllocatorInput, 'seq'>): void {
    if (input.snapshot) {
      for (const f of input.snapshot.frameworks ?? []) this.frameworks.add(f.info?.id ?? '');
      for (const a of input.snapshot.agents ?? []) this.addAgent(a);
      for (const o of input.snapshot.outstandingOffers ?? []) this.hold(o.agentId ?? '', o.frameworkId ?? '', quantities(o.resources));
    }
    if (input.addAgent) this.addAgent(input.addAgent);
    if (input.updateAgent) this.totals.set(input.updateAgent.agentId ?? '', quantities(input.updateAgent.total));
    if (input.removeAgent) this.removedAgents.set(input.removeAgent.agentId ?? '', seq);
    if (input.addFramework) {
      this.frameworks.add(input.addFramework.framework?.info?.id ?? '');
      for (const u of input.addFramework.used ?? []) this.hold(u.agentId ?? '', u.frameworkId ?? '', quantities(u.resources));
    }
    if (input.removeFramework) {
      const id = input.removeFramework.frameworkId ?? '';
      this.removedFrameworks.set(id, seq);
      for (const byFramework of this.held.values()) byFramework.delete(id);
    }
    if (input.recoverResources) {
      const r = input.recoverResources;
      const mine = this.held.get(r.agentId ?? '')?.get(r.frameworkId ?? '');
      for (const [name, n] of quantities(r.resources)) if (mine) mine.set(name, Math.max(0, round(amount(mine, name) - n)));
    }
  }

  private addAgent(a: T.AllocatorAgent): void {
    const id = a.info?.id ?? '';
    this.totals.set(id, quantities(a.total));
    this.held.set(id, new Map());
    for (const u of a.used ?? []) this.hold(id, u.frameworkId ?? '', quantities(u.resources));
  }

  private hold(agentId: string, frameworkId: string, q: Quantities): void {
    const byFramework = this.held.get(agentId) ?? new Map<string, Quantities>();
    this.held.set(agentId, byFramework);
    const mine = byFramework.get(frameworkId) ?? new Map<string, number>();
    byFramework.set(frameworkId, mine);
    for (const [name, n] of q) mine.set(name, round(amount(mine, name) + n));
  }

  /** offer checks one offered allocation and counts it as held by its framework. */
  offer(o: Offer): void {
    const where = `the offer to ${o.frameworkId || '(no framework_id)'} of agent ${o.agentId || '(no agent_id)'} (seq ${o.seq})`;
    if (!o.frameworkId || !o.agentId || !o.role) {
      return this.problem(`${where} lacks framework_id, agent_id or role: every Allocation names all three`);
    }
    if (!o.resources.length) this.problem(`${where} holds no resources: leave empty allocations out`);
    const total = this.totals.get(o.agentId);
    if (!total) return this.problem(`${where} names an agent the stream never added: offer only agents from the snapshot or add_agent`);
    if (!this.frameworks.has(o.frameworkId)) this.problem(`${where} names a framework the stream never added: offer only to frameworks from the snapshot or add_framework`);
    const agentGone = this.removedAgents.get(o.agentId);
    if (agentGone !== undefined && o.seq >= agentGone) this.problem(`${where} names agent ${o.agentId}, removed by remove_agent at seq ${agentGone}: forget a removed agent at once`);
    const frameworkGone = this.removedFrameworks.get(o.frameworkId);
    if (frameworkGone !== undefined && o.seq >= frameworkGone) {
      this.problem(`${where} names framework ${o.frameworkId}, removed by remove_framework at seq ${frameworkGone}: make no offers to a removed framework`);
    }
    for (const r of o.resources) {
      if (r.allocationInfo?.role !== o.role) {
        this.problem(`${where} in role ${o.role} holds ${r.name} whose allocation_info.role is ${JSON.stringify(r.allocationInfo?.role ?? '')}: set allocation_info.role of every offered resource to the allocation's role`);
      }
      const reserved = reservationRole(r);
      if (reserved !== undefined && !withinRole(o.role, reserved)) {
        this.problem(`${where} gives ${r.name} reserved for role ${reserved} to role ${o.role}: reserved resources go only to frameworks in the reservation's role or its descendants (${reserved}/...)`);
      }
      const bad = (r.scalar && !(Number.isFinite(r.scalar.value ?? 0) && (r.scalar.value ?? 0) > 0)) || !r.name;
      if (bad) this.problem(`${where} holds a resource without a name or with a scalar that is not > 0 (${JSON.stringify(r)})`);
    }
    if (agentGone !== undefined) return;
    this.hold(o.agentId, o.frameworkId, quantities(o.resources));
    const byFramework = this.held.get(o.agentId)!;
    const sum = new Map<string, number>();
    for (const q of byFramework.values()) for (const [name, n] of q) sum.set(name, round(amount(sum, name) + n));
    const over = [...sum].filter(([name, n]) => n > amount(total, name));
    if (over.length) {
      const holders = [...byFramework].map(([fw, q]) => `${fw} ${describeQuantities(q)}`).join(', ');
      this.problem(
        `${where} over-offers the agent: it has ${describeQuantities(total)} in total, but then ${over.map(([name, n]) => `${name}:${n}`).join(';')} ` +
          `would be offered or used (${holders}): ${FIX_OVER_OFFER}`,
      );
    }
  }
}
