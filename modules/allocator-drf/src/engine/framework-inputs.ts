/**
 * Framework inputs of the allocator: add, remove, activate, deactivate, update, suppress, revive.
 *
 * Semantics follow Mesos's hierarchical allocator: a framework with no role is in role "*"; a
 * deactivated framework keeps its resources (so its shares stay) but gets no offers and loses its
 * filters; suppressing a role stops offers in it until revived; reviving clears the role's filters.
 */
import { EngineState, FrameworkState } from './engine-state';
import { AllocatorError } from './options';
import { Resources } from './resources';
import type { AllocatorFramework, FrameworkInfo, OfferFilter } from './types';

/** The roles of a framework: its `roles`, or "*" when it names none. */
function frameworkRoles(info: FrameworkInfo | undefined): Set<string> {
  const roles = (info?.roles ?? []).filter((r) => r !== '');
  return new Set(roles.length > 0 ? roles : ['*']);
}

function applyCapabilities(fw: FrameworkState, info: FrameworkInfo | undefined): void {
  const caps = new Set(info?.capabilities ?? []);
  fw.gpu = caps.has('GPU_RESOURCES');
  fw.revocable = caps.has('REVOCABLE_RESOURCES');
  fw.shared = caps.has('SHARED_RESOURCES');
  fw.refinement = caps.has('RESERVATION_REFINEMENT');
}

/** The framework `id`, or an AllocatorError naming the operation. */
function frameworkOf(s: EngineState, id: string, op: string): FrameworkState {
  const fw = s.frameworks.get(id);
  if (fw === undefined) throw new AllocatorError(`${op}: unknown framework '${id}'`);
  return fw;
}

/**
 * Adds a framework. Resources agents already reported for it join its shares; its filters are kept
 * (those already expired at the engine's clock are dropped).
 */
export function addFramework(s: EngineState, framework: AllocatorFramework): FrameworkState {
  const id = framework.info?.id ?? '';
  if (id === '') throw new AllocatorError('addFramework: the framework has no id');
  if (s.frameworks.has(id)) throw new AllocatorError(`addFramework: framework ${id} already exists`);
  const fw: FrameworkState = {
    id,
    roles: frameworkRoles(framework.info),
    suppressed: new Set(),
    active: framework.active === true,
    gpu: false,
    revocable: false,
    shared: false,
    refinement: false,
    memberships: new Map(),
  };
  applyCapabilities(fw, framework.info);
  for (const r of framework.suppressedRoles ?? []) if (fw.roles.has(r)) fw.suppressed.add(r);
  s.frameworks.set(id, fw);
  for (const role of fw.roles) s.join(fw, role);
  s.adopt(fw);
  for (const f of framework.filters ?? []) restoreFilter(s, fw, f);
  for (const m of fw.memberships.values()) s.refresh(m);
  return fw;
}

function restoreFilter(s: EngineState, fw: FrameworkState, f: OfferFilter): void {
  const expires = f.expiresAtMs ?? 0;
  const agent = s.agents.get(f.agentId ?? '');
  if (!(expires > s.clockMs) || agent === undefined) return;
  for (const [role, res] of Resources.fromProtoByRole(f.resources)) {
    // A filter without a role refuses the resources in every role of the framework.
    for (const r of role === null ? fw.roles : [role]) {
      const m = fw.memberships.get(r);
      if (m !== undefined) s.addFilter(agent, m, res, expires);
    }
  }
}

function clearRoleFilters(s: EngineState, fw: FrameworkState, roles: Iterable<string>): void {
  for (const role of roles) {
    const m = fw.memberships.get(role);
    if (m !== undefined) s.clearFilters(m);
  }
}

/** Removes a framework and frees everything it holds, on every agent. No-op for an unknown id. */
export function removeFramework(s: EngineState, frameworkId: string): void {
  const fw = s.frameworks.get(frameworkId);
  // Known frameworks' records are found by scanning the agents (removal is rare; Mesos scans too);
  // orphan records of an unknown id are indexed.
  const agents = fw === undefined ? Array.from(s.orphans.get(frameworkId) ?? []) : s.agentList;
  for (const agent of agents) {
    for (const record of agent.holdings.filter((r) => r.frameworkId === frameworkId)) {
      s.release(agent, record, record.res.clone());
    }
  }
  if (fw === undefined) return;
  for (const m of Array.from(fw.memberships.values())) s.leaveIfIdle(m, true);
  s.frameworks.delete(frameworkId);
}

/** Marks a framework connected: it gets offers again in its unsuppressed roles. */
export function activateFramework(s: EngineState, frameworkId: string): void {
  const fw = frameworkOf(s, frameworkId, 'activateFramework');
  fw.active = true;
  for (const m of fw.memberships.values()) s.refresh(m);
}

/** Marks a framework disconnected: no offers; its filters are dropped, as Mesos does. */
export function deactivateFramework(s: EngineState, frameworkId: string): void {
  const fw = frameworkOf(s, frameworkId, 'deactivateFramework');
  fw.active = false;
  for (const m of fw.memberships.values()) s.refresh(m);
  for (const m of fw.memberships.values()) s.clearFilters(m);
}

/**
 * Updates a framework's roles, capabilities and suppressed roles. Roles it leaves lose their filters
 * (it stays a member while it holds resources there); roles it stops suppressing are revived (their
 * filters cleared). `active` is ignored: activity changes through activate/deactivate only.
 */
export function updateFramework(s: EngineState, framework: AllocatorFramework): void {
  const fw = frameworkOf(s, framework.info?.id ?? '', 'updateFramework');
  // Deactivate everywhere first so that per-role GPU counts follow a capability change.
  for (const m of fw.memberships.values()) s.setActive(m, false);
  applyCapabilities(fw, framework.info);
  const roles = frameworkRoles(framework.info);
  const suppressed = new Set((framework.suppressedRoles ?? []).filter((r) => roles.has(r)));
  clearRoleFilters(s, fw, Array.from(fw.roles).filter((r) => !roles.has(r)));
  clearRoleFilters(s, fw, Array.from(fw.suppressed).filter((r) => roles.has(r) && !suppressed.has(r)));
  fw.roles = roles;
  fw.suppressed = suppressed;
  for (const role of roles) s.join(fw, role);
  for (const m of Array.from(fw.memberships.values())) {
    s.refresh(m);
    s.leaveIfIdle(m);
  }
}

/** Stops offers to a framework in the given roles (all of its roles when empty). */
export function suppressOffers(s: EngineState, frameworkId: string, roles: readonly string[]): void {
  const fw = frameworkOf(s, frameworkId, 'suppressOffers');
  for (const role of roles.length > 0 ? roles : Array.from(fw.roles)) {
    const m = fw.memberships.get(role);
    if (!fw.roles.has(role) || m === undefined) continue;
    fw.suppressed.add(role);
    s.refresh(m);
  }
}

/** Resumes offers in the given roles (all when empty) and clears their refused-offer filters. */
export function reviveOffers(s: EngineState, frameworkId: string, roles: readonly string[]): void {
  const fw = frameworkOf(s, frameworkId, 'reviveOffers');
  const targets = (roles.length > 0 ? roles : Array.from(fw.roles)).filter((r) => fw.roles.has(r));
  clearRoleFilters(s, fw, targets);
  for (const role of targets) {
    fw.suppressed.delete(role);
    const m = fw.memberships.get(role);
    if (m !== undefined) s.refresh(m);
  }
}
