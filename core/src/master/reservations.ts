/**
 * Dynamic reservations made in the offer cycle, checked and applied as Mesos's master does
 * (master/validation.cpp `operation::validate` for Reserve and Unreserve, master.cpp `_accept`):
 *
 * - RESERVE turns offered resources into resources with one more reservation on their stack,
 *   `{type: DYNAMIC, role, principal}`; UNRESERVE takes the innermost dynamic reservation off again.
 * - The operations of one ACCEPT apply in order to what its offers hold, so a LAUNCH after a RESERVE may
 *   use the just-reserved resources, and an UNRESERVE may undo a RESERVE of the same ACCEPT.
 * - An invalid operation is dropped (the caller logs the error; with no operation feedback there is
 *   nothing to tell the framework), and the next operations go on.
 *
 * Resources come in either of Mesos's formats: the `reservations` stack (Mesos >= 1.4, refinement) or
 * the legacy `role` (+ `reservation` for a dynamic one). {@link upgradeResource} turns both into the
 * stack, which is what the master keeps, offers and stores.
 *
 * ```ts
 * const result = reserve(op.reserve, { framework: f.info, offerRole: 'db', remaining });
 * if ('error' in result) log.warn(result.error);
 * else applyConversion(remaining, result.conversion); // a LAUNCH may now use the reserved resources
 * ```
 */
import { rolesOf } from './model/abi';
import type { FrameworkInfo, ReservationInfo, Resource } from './model/mesos';
import { describeResources, ResourceBag } from './model/resources';

/** Conversion replaces resources by others of the same amount: `consumed` become `converted`. */
export interface Conversion {
  /** The operation that made it. */
  operation: 'RESERVE' | 'UNRESERVE';
  consumed: Resource[];
  converted: Resource[];
}

/** ConversionResult is a valid operation's conversion, or why the operation is dropped. */
export type ConversionResult = { conversion: Conversion } | { error: string };

/** The body of a RESERVE operation (`Offer.Operation.Reserve`). */
export interface ReserveOperation {
  resources?: Resource[];
  source?: Resource[];
}

/** The body of an UNRESERVE operation (`Offer.Operation.Unreserve`). */
export interface UnreserveOperation {
  resources?: Resource[];
}

/** OperationContext is what an operation is checked against. */
export interface OperationContext {
  framework: FrameworkInfo;
  /** The role of the ACCEPT's offers when they all have one: resources without allocation_info get it. */
  offerRole?: string;
  /** What the offers hold after the earlier operations of the same ACCEPT. */
  remaining: ResourceBag;
  /** Tasks running on the agent: explains why resources a framework names are not in its offers. */
  runningTasks?: readonly { id: string; resources: readonly Resource[] }[];
}

type LegacyResource = Resource & { reservation?: ReservationInfo };

/** roleProblem tells why a role name is invalid (Mesos's roles.cpp rules), or undefined. */
export function roleProblem(role: string): string | undefined {
  if (role === '*') return undefined;
  for (const part of role.split('/')) {
    if (part === '' || part === '.' || part === '..' || part.startsWith('-') || /[\s\x00-\x1f\x7f]/.test(part) || part === '*') {
      return `role '${role}' is invalid: each '/'-separated part must be non-empty, not '.', '..' or '*', not start with '-', and have no whitespace`;
    }
  }
  return undefined;
}

function cleanReservation(x: ReservationInfo): ReservationInfo {
  const out: ReservationInfo = { ...x };
  if (!out.principal) delete out.principal;
  if (!out.labels?.labels?.length) delete out.labels;
  return out;
}

/**
 * upgradeResource turns a resource in the legacy format (`role`, and `reservation` for a dynamic
 * reservation) into the `reservations` stack, as Mesos's master upgrades what frameworks send. Returns
 * the resource without `role`/`reservation`, or the reason it is invalid.
 */
export function upgradeResource(r: Resource): Resource | string {
  const legacy = r as LegacyResource;
  // The common case on every launch: an unreserved resource in the current format, taken as it is.
  if ((legacy.role === undefined || legacy.role === null) && !legacy.reservation && !r.reservations) return r;
  const { role, reservation, ...rest } = legacy;
  const legacyRole = role !== undefined && role !== null && role !== '*' ? role : undefined;
  const text = () => describeResources([r]);
  if (rest.reservations?.length) {
    const last = rest.reservations[rest.reservations.length - 1];
    if (legacyRole !== undefined && legacyRole !== last.role) {
      return `resource ${text()} sets "role" '${legacyRole}' and "reservations" ending with role '${last.role ?? ''}': use one of the two formats (the "reservations" stack is the current one)`;
    }
    for (const x of rest.reservations) {
      if (x.type !== 'STATIC' && x.type !== 'DYNAMIC') return `resource ${text()} has a reservation without a type: set "type" to "STATIC" or "DYNAMIC"`;
      if (!x.role) return `resource ${text()} has a reservation without a role: set "role"`;
      if (x.role === '*') return `Invalid reservation: role "*" cannot be reserved (resource ${text()}): reserve for one of the framework's roles`;
      const bad = roleProblem(x.role);
      if (bad) return `resource ${text()}: ${bad}`;
    }
    return { ...rest, reservations: rest.reservations.map(cleanReservation) };
  }
  const { reservations: _empty, ...unreserved } = rest;
  if (legacyRole === undefined) {
    if (reservation) return `Invalid reservation: role "*" cannot be reserved (resource ${text()} has a "reservation" but no "role"): set "role" to the role to reserve for`;
    return unreserved;
  }
  const bad = roleProblem(legacyRole);
  if (bad) return `resource ${text()}: ${bad}`;
  const info: ReservationInfo = reservation
    ? { type: 'DYNAMIC', role: legacyRole, principal: reservation.principal, labels: reservation.labels }
    : { type: 'STATIC', role: legacyRole };
  return { ...unreserved, reservations: [cleanReservation(info)] };
}

/**
 * downgradeResource writes a resource in the format of frameworks without RESERVATION_REFINEMENT (Mesos
 * < 1.4's), as Mesos's master does for their offers: one reservation becomes `role` (+ `reservation`
 * with its principal and labels when dynamic); an unreserved resource says `role: "*"` (Mesos's
 * convertResourceFormat sets it, so JSON clients that read `role` find it). A refined reservation (a stack of several) has no such form: those frameworks are never
 * offered one (the allocator leaves them out), so it is returned as it is.
 */
export function downgradeResource(r: Resource): Resource {
  const stack = r.reservations;
  if (!stack?.length) return r.role === undefined ? Object.assign({}, r, { role: '*' }) : r;
  if (stack.length > 1) return r;
  const [only] = stack;
  const { reservations: _stack, ...rest } = r;
  const out: LegacyResource = { ...rest, role: only.role };
  if (only.type === 'DYNAMIC') out.reservation = { ...(only.principal !== undefined && { principal: only.principal }), ...(only.labels && { labels: only.labels }) };
  return out;
}

/** The resource with its innermost reservation taken off (unreserved when it was the only one). */
function popReservation(r: Resource): Resource {
  const out = structuredClone(r);
  const stack = (out.reservations ?? []).slice(0, -1);
  if (stack.length) out.reservations = stack;
  else delete out.reservations;
  return out;
}

/** The resource without its dynamic reservations: what the agent declares. */
function withoutDynamic(r: Resource): Resource {
  const out = structuredClone(r);
  const stack = (out.reservations ?? []).filter((x) => x.type !== 'DYNAMIC');
  if (stack.length) out.reservations = stack;
  else delete out.reservations;
  return out;
}

/** unallocated is the resource without its allocation role (how an agent's total holds it). */
export function unallocated(r: Resource): Resource {
  const { allocation_info: _role, ...rest } = r;
  return rest;
}

function withoutReservations(r: Resource): Resource {
  const { reservations: _r, role: _role, ...rest } = r;
  return rest;
}

// The resources named by an operation, upgraded, with the offers' role where they name none.
function prepare(given: readonly Resource[], ctx: OperationContext): Resource[] | string {
  const out: Resource[] = [];
  for (const raw of given) {
    const r = upgradeResource(raw);
    if (typeof r === 'string') return `Invalid resources: ${r}`;
    out.push(!r.allocation_info && ctx.offerRole !== undefined ? { ...r, allocation_info: { role: ctx.offerRole } } : r);
  }
  return out;
}

// Why `wanted` is not inside the offers: already reserved differently, used by tasks, or simply absent.
function notOffered(op: string, wanted: readonly Resource[], ctx: OperationContext): string {
  const left = ctx.remaining.toList();
  const text = describeResources(wanted);
  const offered = `the offers hold ${describeResources(left) || 'nothing'}${left.length ? ' (what is left of them at this operation of the ACCEPT)' : ''}`;
  const sameAmounts = ResourceBag.of(left.map(withoutReservations)).contains(wanted.map(withoutReservations));
  if (op === 'RESERVE' && sameAmounts) {
    const roles = [...new Set(left.filter((r) => r.reservations?.length).map((r) => r.reservations![r.reservations!.length - 1].role))];
    return `${text} cannot be reserved: ${offered}; not all of them are unreserved: the rest is already reserved${roles.length ? ` for role ${roles.map((x) => `'${x}'`).join(', ')}` : ''}. Reserve at most what is unreserved; to reserve resources of another reservation, UNRESERVE them first (a reservation can only be refined for a sub-role, with RESERVATION_REFINEMENT)`;
  }
  if (op === 'UNRESERVE') {
    const kind = (r: Resource) => `${r.name}|${JSON.stringify((r.reservations ?? []).map(cleanReservation))}`;
    const kinds = new Set(wanted.map(kind));
    const users = (ctx.runningTasks ?? []).filter((t) => t.resources.some((r) => kinds.has(kind(r))));
    if (users.length) {
      return `${text} cannot be unreserved: ${offered}; resources of this reservation are used by task(s) ${users.map((t) => t.id).join(', ')} on this agent. Only offered resources can be unreserved: kill the tasks, then UNRESERVE the resources when they are offered again`;
    }
  }
  return `${text} ${op === 'RESERVE' ? 'cannot be reserved' : 'cannot be unreserved'}: they are not in the offers: ${offered}. Name resources exactly as offered (name, amount, reservations, allocation role)`;
}

/** reserve checks a RESERVE operation against its context; returns its conversion or the error. */
export function reserve(op: ReserveOperation | undefined, ctx: OperationContext): ConversionResult {
  const fail = (why: string): ConversionResult => ({ error: `Invalid RESERVE operation: ${why}` });
  if (op?.source?.length) return fail('"reserve.source" (changing a reservation in one step) is not supported by this master: UNRESERVE the resources, then RESERVE them again');
  if (!op?.resources?.length) return fail('"reserve.resources" is empty: list the resources to reserve, each with its new reservation {"type": "DYNAMIC", "role": ...}');
  const prepared = prepare(op.resources, ctx);
  if (typeof prepared === 'string') return fail(prepared);
  const roles = rolesOf(ctx.framework);
  const refinement = (ctx.framework.capabilities ?? []).some((c) => c.type === 'RESERVATION_REFINEMENT');
  const principal = ctx.framework.principal || undefined;
  const consumed: Resource[] = [];
  for (const r of prepared) {
    const text = describeResources([r]);
    const stack = r.reservations ?? [];
    const last = stack[stack.length - 1];
    if (last?.type !== 'DYNAMIC') {
      return fail(`Resource ${text} is not dynamically reserved: give it the reservation to make, {"type": "DYNAMIC", "role": "<one of the framework's roles>"} (or the legacy "role" with a "reservation")`);
    }
    const role = last.role!;
    if (!roles.includes(role)) {
      return fail(`A reserve operation was attempted for a resource with role '${role}', but framework ${ctx.framework.id?.value ?? ''} can only reserve resources for its roles ${roles.map((x) => `'${x}'`).join(', ')}: reserve for one of them, or add the role with UPDATE_FRAMEWORK`);
    }
    if (stack.length > 1 && !refinement) {
      return fail(`Resource ${text} refines a reservation (a stack of ${stack.length} reservations), which needs the framework capability RESERVATION_REFINEMENT: subscribe with it, or reserve unreserved resources`);
    }
    if (r.revocable) return fail(`Resource ${text} is revocable: revocable resources cannot be reserved`);
    if (principal !== undefined && last.principal !== principal) {
      return fail(
        last.principal === undefined
          ? `the reservation of ${text} has no principal, but framework ${ctx.framework.id?.value ?? ''} has principal '${principal}': set the reservation's "principal" to '${principal}'`
          : `A reserve operation was attempted by principal '${principal}', which does not match a reserved resource in the request with principal '${last.principal}': set the reservation's "principal" to the framework's`,
      );
    }
    const allocation = r.allocation_info?.role;
    if (allocation === undefined) return fail(`Resource ${text} has no allocation_info.role and the offers are for several roles: set allocation_info.role to the role of the offer it comes from`);
    if (allocation !== role) {
      return fail(`Resource ${text} is allocated to role '${allocation}' (the role of its offer) and cannot be reserved for role '${role}': reserve resources for the role of the offer they come from`);
    }
    const source = popReservation(r);
    const previous = source.reservations?.[source.reservations.length - 1];
    if (previous && !role.startsWith(`${previous.role}/`)) {
      return fail(`Resource ${describeResources([source])} is already reserved for role '${previous.role}' and cannot be reserved for role '${role}': UNRESERVE it first (a reservation can only be refined for a sub-role such as '${previous.role}/...')`);
    }
    consumed.push(source);
  }
  if (!ctx.remaining.contains(consumed)) return fail(notOffered('RESERVE', consumed, ctx));
  return { conversion: { operation: 'RESERVE', consumed, converted: prepared } };
}

/** unreserve checks an UNRESERVE operation against its context; returns its conversion or the error. */
export function unreserve(op: UnreserveOperation | undefined, ctx: OperationContext): ConversionResult {
  const fail = (why: string): ConversionResult => ({ error: `Invalid UNRESERVE operation: ${why}` });
  if (!op?.resources?.length) return fail('"unreserve.resources" is empty: list the reserved resources to release, as offered');
  const prepared = prepare(op.resources, ctx);
  if (typeof prepared === 'string') return fail(prepared);
  const roles = rolesOf(ctx.framework);
  const converted: Resource[] = [];
  for (const r of prepared) {
    const text = describeResources([r]);
    const last = r.reservations?.[r.reservations.length - 1];
    if (!last) return fail(`Resource ${text} is not reserved: only dynamically reserved resources can be unreserved`);
    if (last.type === 'STATIC') {
      return fail(`Resource ${text} is statically reserved for role '${last.role}' (by the agent's --resources): only dynamic reservations can be unreserved; the operator changes static ones by restarting the agent with other --resources`);
    }
    if ((r.disk as { persistence?: unknown } | undefined)?.persistence) return fail(`A dynamically reserved persistent volume ${text} cannot be unreserved: DESTROY the volume first`);
    if (!roles.includes(last.role!)) {
      return fail(`Resource ${text} is reserved for role '${last.role}', which is not a role of framework ${ctx.framework.id?.value ?? ''} (its roles: ${roles.join(', ')})`);
    }
    converted.push(popReservation(r));
  }
  if (!ctx.remaining.contains(prepared)) return fail(notOffered('UNRESERVE', prepared, ctx));
  return { conversion: { operation: 'UNRESERVE', consumed: prepared, converted } };
}

/**
 * operatorConversion checks the resources of an operator's RESERVE_RESOURCES or UNRESERVE_RESOURCES
 * (no framework, so no role or capability of one applies; Mesos's master/validation.cpp with no
 * principal) and returns the conversion, or why the call is refused. Whether the agent has the
 * resources to spare is the caller's to check.
 */
export function operatorConversion(op: 'RESERVE' | 'UNRESERVE', given: readonly Resource[] | undefined): ConversionResult {
  const call = `${op}_RESOURCES`;
  const field = `${op.toLowerCase()}_resources.resources`;
  const fail = (why: string): ConversionResult => ({ error: `Invalid ${call}: ${why}` });
  if (!given?.length) return fail(`"${field}" is empty: list the resources${op === 'RESERVE' ? ', each with the reservation to make {"type": "DYNAMIC", "role": ...}' : ' to release, as GET_AGENTS shows them reserved'}`);
  const consumed: Resource[] = [];
  const converted: Resource[] = [];
  for (const raw of given) {
    const r = upgradeResource(raw);
    if (typeof r === 'string') return fail(`Invalid resources: ${r}`);
    const text = describeResources([r]);
    if (r.allocation_info) return fail(`Resource ${text} has allocation_info: resources an operator names belong to no allocation; leave allocation_info out`);
    if (r.revocable) return fail(`Resource ${text} is revocable: revocable resources cannot be reserved`);
    const last = r.reservations?.[r.reservations.length - 1];
    if (op === 'RESERVE') {
      if (last?.type !== 'DYNAMIC') return fail(`Resource ${text} is not dynamically reserved: give it the reservation to make, {"type": "DYNAMIC", "role": "<role>"} (or the legacy "role" with a "reservation")`);
      const source = popReservation(r);
      const previous = source.reservations?.[source.reservations.length - 1];
      if (previous && !last.role!.startsWith(`${previous.role}/`)) {
        return fail(`Resource ${describeResources([source])} is already reserved for role '${previous.role}' and cannot be reserved for role '${last.role}': UNRESERVE it first (a reservation can only be refined for a sub-role such as '${previous.role}/...')`);
      }
      consumed.push(source);
      converted.push(r);
    } else {
      if (!last) return fail(`Resource ${text} is not reserved: only dynamically reserved resources can be unreserved`);
      if (last.type === 'STATIC') {
        return fail(`Resource ${text} is statically reserved for role '${last.role}' (by the agent's --resources): only dynamic reservations can be unreserved; restart the agent with other --resources to change static ones`);
      }
      if ((r.disk as { persistence?: unknown } | undefined)?.persistence) return fail(`A dynamically reserved persistent volume ${text} cannot be unreserved: DESTROY the volume first`);
      consumed.push(r);
      converted.push(popReservation(r));
    }
  }
  return { conversion: { operation: op, consumed, converted } };
}

/** applyConversion makes `bag` hold the converted resources instead of the consumed ones. */
export function applyConversion(bag: ResourceBag, c: Conversion): void {
  bag.subtract(c.consumed);
  for (const r of c.converted) bag.add(r);
}

/** convertTotal is an agent's total after conversions (allocation roles left out). */
export function convertTotal(total: readonly Resource[], conversions: readonly Conversion[]): Resource[] {
  const bag = ResourceBag.of(total);
  for (const c of conversions) applyConversion(bag, { ...c, consumed: c.consumed.map(unallocated), converted: c.converted.map(unallocated) });
  return bag.toList();
}

/** dynamicReservations are the resources of a total that carry a dynamic reservation (what the registry keeps). */
export function dynamicReservations(total: readonly Resource[]): Resource[] {
  return total.filter((r) => r.reservations?.some((x) => x.type === 'DYNAMIC')).map(unallocated);
}

/**
 * withDynamicReservations is an agent's total: what it declares, with the dynamic reservations made on
 * it applied on top. A reservation whose resources the agent no longer declares (it restarted with
 * other --resources) cannot be applied and is returned in `dropped`.
 */
export function withDynamicReservations(declared: readonly Resource[], reserved: readonly Resource[]): { total: Resource[]; dropped: Resource[] } {
  if (reserved.length === 0) return { total: [...declared], dropped: [] };
  const bag = ResourceBag.of(declared);
  const dropped: Resource[] = [];
  for (const r of reserved) {
    const base = withoutDynamic(r);
    if (!bag.contains([base])) {
      dropped.push(r);
      continue;
    }
    bag.subtract([base]);
    bag.add(r);
  }
  return { total: bag.toList(), dropped };
}
