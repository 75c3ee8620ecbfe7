import type { FrameworkInfo, Resource } from './model/mesos';
import { ResourceBag } from './model/resources';
import { applyConversion, convertTotal, dynamicReservations, reserve, unreserve, upgradeResource, withDynamicReservations, type OperationContext } from './reservations';

const scalar = (name: string, value: number, extra: Partial<Resource> = {}): Resource => ({ name, type: 'SCALAR', scalar: { value }, ...extra });
const dyn = (role: string, principal?: string) => ({ type: 'DYNAMIC' as const, role, ...(principal ? { principal } : {}) });
const FW: FrameworkInfo = { user: 'u', name: 'fw', id: { value: 'F1' }, roles: ['db', 'web'], capabilities: [{ type: 'MULTI_ROLE' }] };

// Offers to role db: 4 unreserved cpus, 1024 mem, and 2 cpus already reserved for db.
function ctx(extra: Partial<OperationContext> = {}, offered?: Resource[]): OperationContext {
  const alloc = { allocation_info: { role: 'db' } };
  return {
    framework: FW,
    offerRole: 'db',
    remaining: ResourceBag.of(offered ?? [scalar('cpus', 4, alloc), scalar('mem', 1024, alloc), scalar('cpus', 2, { ...alloc, reservations: [dyn('db', 'p')] })]),
    ...extra,
  };
}
const err = (r: ReturnType<typeof reserve>): string => ('error' in r ? r.error : 'no error');

describe('upgradeResource (Mesos pre- and post-refinement formats)', () => {
  it('turns the legacy role into a STATIC reservation and role + reservation into a DYNAMIC one', () => {
    expect(upgradeResource(scalar('cpus', 1, { role: 'ops' }))).toEqual(scalar('cpus', 1, { reservations: [{ type: 'STATIC', role: 'ops' }] }));
    expect(upgradeResource({ ...scalar('cpus', 1, { role: 'db' }), reservation: { principal: 'p', labels: { labels: [{ key: 'k', value: 'v' }] } } })).toEqual(
      scalar('cpus', 1, { reservations: [{ type: 'DYNAMIC', role: 'db', principal: 'p', labels: { labels: [{ key: 'k', value: 'v' }] } }] }),
    );
    expect(upgradeResource(scalar('cpus', 1, { role: '*' }))).toEqual(scalar('cpus', 1));
    expect(upgradeResource(scalar('cpus', 1, { role: 'db', reservations: [dyn('db')] }))).toEqual(scalar('cpus', 1, { reservations: [dyn('db')] }));
  });

  it('refuses what Mesos refuses', () => {
    expect(upgradeResource({ ...scalar('cpus', 1), reservation: { principal: 'p' } })).toMatch(/role "\*" cannot be reserved/);
    expect(upgradeResource(scalar('cpus', 1, { role: 'a', reservations: [dyn('b')] }))).toMatch(/sets "role" 'a' and "reservations" ending with role 'b'/);
    expect(upgradeResource(scalar('cpus', 1, { reservations: [{ role: 'db' }] }))).toMatch(/without a type/);
    expect(upgradeResource(scalar('cpus', 1, { reservations: [dyn('*')] }))).toMatch(/role "\*" cannot be reserved/);
    expect(upgradeResource(scalar('cpus', 1, { reservations: [dyn('a/../b')] }))).toMatch(/role 'a\/..\/b' is invalid/);
  });
});

describe('reserve', () => {
  it('converts unreserved offered resources into dynamically reserved ones, in either format', () => {
    const c = ctx();
    const r = reserve({ resources: [scalar('cpus', 1, { reservations: [dyn('db')] })] }, c);
    expect(r).toEqual({
      conversion: { operation: 'RESERVE', consumed: [scalar('cpus', 1, { allocation_info: { role: 'db' } })], converted: [scalar('cpus', 1, { reservations: [dyn('db')], allocation_info: { role: 'db' } })] },
    });
    const legacy = reserve({ resources: [{ ...scalar('mem', 512, { role: 'db' }), reservation: {} }] }, c);
    expect('conversion' in legacy && legacy.conversion.converted).toEqual([scalar('mem', 512, { reservations: [{ type: 'DYNAMIC', role: 'db' }], allocation_info: { role: 'db' } })]);
    if (!('conversion' in r)) throw new Error(r.error);
    applyConversion(c.remaining, r.conversion);
    expect(c.remaining.scalar('cpus')).toBe(6);
    expect(c.remaining.contains([scalar('cpus', 1, { reservations: [dyn('db')], allocation_info: { role: 'db' } })])).toBe(true);
    expect(c.remaining.contains([scalar('cpus', 4, { allocation_info: { role: 'db' } })])).toBe(false);
  });

  it('refuses resources that are not dynamically reserved, or reserved for "*"', () => {
    expect(err(reserve({ resources: [scalar('cpus', 1)] }, ctx()))).toMatch(/^Invalid RESERVE operation: Resource cpus:1 is not dynamically reserved/);
    expect(err(reserve({ resources: [scalar('cpus', 1, { reservations: [{ type: 'STATIC', role: 'db' }] })] }, ctx()))).toMatch(/is not dynamically reserved/);
    expect(err(reserve({ resources: [scalar('cpus', 1, { reservations: [dyn('*')] })] }, ctx()))).toMatch(/role "\*" cannot be reserved/);
    expect(err(reserve({ resources: [] }, ctx()))).toMatch(/"reserve.resources" is empty/);
    expect(err(reserve({ resources: [scalar('cpus', 1, { reservations: [dyn('db')] })], source: [scalar('cpus', 1)] }, ctx()))).toMatch(/"reserve.source" .* is not supported/);
  });

  it("refuses a role that is not one of the framework's, and one that is not the offer's", () => {
    expect(err(reserve({ resources: [scalar('cpus', 1, { reservations: [dyn('ops')] })] }, ctx()))).toMatch(/role 'ops', but framework F1 can only reserve resources for its roles 'db', 'web'/);
    expect(err(reserve({ resources: [scalar('cpus', 1, { reservations: [dyn('web')] })] }, ctx()))).toMatch(/allocated to role 'db' \(the role of its offer\) and cannot be reserved for role 'web'/);
    expect(err(reserve({ resources: [scalar('cpus', 1, { reservations: [dyn('db')] })] }, ctx({ offerRole: undefined })))).toMatch(/has no allocation_info.role/);
  });

  it("checks the principal against the framework's", () => {
    const withPrincipal = { framework: { ...FW, principal: 'alice' } };
    expect(err(reserve({ resources: [scalar('cpus', 1, { reservations: [dyn('db', 'bob')] })] }, ctx(withPrincipal)))).toMatch(/attempted by principal 'alice', which does not match .* principal 'bob'/);
    expect(err(reserve({ resources: [scalar('cpus', 1, { reservations: [dyn('db')] })] }, ctx(withPrincipal)))).toMatch(/has no principal, but framework F1 has principal 'alice'/);
    expect('conversion' in reserve({ resources: [scalar('cpus', 1, { reservations: [dyn('db', 'alice')] })] }, ctx(withPrincipal))).toBe(true);
    // Without a framework principal, any principal may be recorded (no authentication).
    expect('conversion' in reserve({ resources: [scalar('cpus', 1, { reservations: [dyn('db', 'anyone')] })] }, ctx())).toBe(true);
  });

  it('refuses more than the offers hold, and resources already reserved for another role', () => {
    expect(err(reserve({ resources: [scalar('cpus', 9, { reservations: [dyn('db')] })] }, ctx()))).toMatch(/cpus:9 cannot be reserved: they are not in the offers: the offers hold cpus:4;mem:1024;cpus\(db\):2/);
    expect(err(reserve({ resources: [scalar('cpus', 5, { reservations: [dyn('db')] })] }, ctx()))).toMatch(/not all of them are unreserved: the rest is already reserved for role 'db'/);
    const reservedOnly = ctx({}, [scalar('cpus', 2, { allocation_info: { role: 'db' }, reservations: [dyn('db', 'p')] })]);
    expect(err(reserve({ resources: [scalar('cpus', 1, { reservations: [dyn('db')] })] }, reservedOnly))).toMatch(/already reserved for role 'db'/);
    // Stacked on the db reservation for a role that is not below db.
    const fw = { framework: { ...FW, roles: ['db', 'web'], capabilities: [{ type: 'MULTI_ROLE' as const }, { type: 'RESERVATION_REFINEMENT' as const }] } };
    expect(err(reserve({ resources: [scalar('cpus', 1, { reservations: [dyn('web', 'p'), dyn('db')] })] }, ctx(fw)))).toMatch(/already reserved for role 'web' and cannot be reserved for role 'db': UNRESERVE it first/);
  });

  it('needs RESERVATION_REFINEMENT for a reservation stack, and refines for a sub-role only', () => {
    const offered = [scalar('cpus', 2, { allocation_info: { role: 'db/x' }, reservations: [dyn('db', 'p')] })];
    const stacked = { resources: [scalar('cpus', 1, { reservations: [dyn('db', 'p'), dyn('db/x')] })] };
    const roles = { ...FW, roles: ['db/x'] };
    expect(err(reserve(stacked, ctx({ framework: roles, offerRole: 'db/x' }, offered)))).toMatch(/needs the framework capability RESERVATION_REFINEMENT/);
    const refined = reserve(stacked, ctx({ framework: { ...roles, capabilities: [{ type: 'MULTI_ROLE' }, { type: 'RESERVATION_REFINEMENT' }] }, offerRole: 'db/x' }, offered));
    expect('conversion' in refined && refined.conversion.consumed).toEqual([scalar('cpus', 1, { reservations: [dyn('db', 'p')], allocation_info: { role: 'db/x' } })]);
  });

  it('refuses revocable resources', () => {
    const offered = [scalar('cpus', 1, { allocation_info: { role: 'db' }, revocable: {} })];
    expect(err(reserve({ resources: [scalar('cpus', 1, { revocable: {}, reservations: [dyn('db')] })] }, ctx({}, offered)))).toMatch(/is revocable/);
  });
});

describe('unreserve', () => {
  it('takes the dynamic reservation off offered resources', () => {
    const r = unreserve({ resources: [scalar('cpus', 2, { reservations: [dyn('db', 'p')] })] }, ctx());
    expect(r).toEqual({
      conversion: { operation: 'UNRESERVE', consumed: [scalar('cpus', 2, { reservations: [dyn('db', 'p')], allocation_info: { role: 'db' } })], converted: [scalar('cpus', 2, { allocation_info: { role: 'db' } })] },
    });
  });

  it('refuses static reservations, unreserved resources, persistent volumes and foreign roles', () => {
    expect(err(unreserve({ resources: [scalar('mem', 1, { reservations: [{ type: 'STATIC', role: 'db' }] })] }, ctx()))).toMatch(/^Invalid UNRESERVE operation: Resource mem\(db\):1 is statically reserved .* only dynamic reservations can be unreserved/);
    expect(err(unreserve({ resources: [scalar('cpus', 1)] }, ctx()))).toMatch(/is not reserved/);
    expect(err(unreserve({ resources: [scalar('disk', 1, { reservations: [dyn('db')], disk: { persistence: { id: 'v' } } })] }, ctx()))).toMatch(/persistent volume .* DESTROY the volume first/);
    expect(err(unreserve({ resources: [scalar('cpus', 1, { reservations: [dyn('ops')] })] }, ctx()))).toMatch(/reserved for role 'ops', which is not a role of framework F1/);
    expect(err(unreserve({}, ctx()))).toMatch(/"unreserve.resources" is empty/);
  });

  it('refuses resources used by tasks, saying which', () => {
    const running = [{ id: 'task-7', resources: [scalar('cpus', 1, { reservations: [dyn('db', 'p')], allocation_info: { role: 'db' } })] }];
    expect(err(unreserve({ resources: [scalar('cpus', 3, { reservations: [dyn('db', 'p')] })] }, ctx({ runningTasks: running })))).toMatch(
      /cpus\(db\):3 cannot be unreserved: .* used by task\(s\) task-7 on this agent\. Only offered resources can be unreserved/,
    );
    expect(err(unreserve({ resources: [scalar('cpus', 3, { reservations: [dyn('db', 'p')] })] }, ctx()))).toMatch(/they are not in the offers/);
  });
});

describe('agent totals', () => {
  const declared = [scalar('cpus', 4), scalar('mem', 1024), scalar('mem', 512, { reservations: [{ type: 'STATIC', role: 'ops' }] })];

  it('applies conversions to the total without allocation roles, and keeps the dynamic part for the registry', () => {
    const r = reserve({ resources: [scalar('cpus', 1, { reservations: [dyn('db', 'p')] })] }, ctx());
    if (!('conversion' in r)) throw new Error(r.error);
    const total = convertTotal(declared, [r.conversion]);
    expect(ResourceBag.of(total).toList()).toEqual(
      ResourceBag.of([scalar('cpus', 3), scalar('mem', 1024), scalar('mem', 512, { reservations: [{ type: 'STATIC', role: 'ops' }] }), scalar('cpus', 1, { reservations: [dyn('db', 'p')] })]).toList(),
    );
    expect(dynamicReservations(total)).toEqual([scalar('cpus', 1, { reservations: [dyn('db', 'p')] })]);
  });

  it('rebuilds a total from declared resources and reservations, dropping what the agent no longer has', () => {
    const reserved = [scalar('cpus', 1, { reservations: [dyn('db')] }), scalar('mem', 256, { reservations: [{ type: 'STATIC', role: 'ops' }, dyn('ops/a')] }), scalar('gpus', 1, { reservations: [dyn('db')] })];
    const { total, dropped } = withDynamicReservations(declared, reserved);
    expect(dropped).toEqual([reserved[2]]);
    const bag = ResourceBag.of(total);
    expect(bag.contains([scalar('cpus', 3), reserved[0], reserved[1], scalar('mem', 256, { reservations: [{ type: 'STATIC', role: 'ops' }] })])).toBe(true);
    expect(bag.scalar('cpus')).toBe(4);
    expect(bag.scalar('mem')).toBe(1536);
    expect(withDynamicReservations(declared, []).total).toEqual(declared);
  });
});
