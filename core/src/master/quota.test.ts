import type { Resource } from './model/mesos';
import { checkWeights } from './weights';
import {
  clusterCapacity,
  configProblem,
  fromQuotaRequest,
  fromWireConfig,
  overcommitted,
  quotaInfoOf,
  toAbiQuota,
  totalGuarantees,
  toWireConfig,
  treeProblem,
  type Quantities,
  type RoleQuota,
} from './quota';

const q = (role: string, guarantees: Quantities = {}, limits: Quantities = {}): RoleQuota => ({ role, guarantees, limits });
const tree = (...quotas: RoleQuota[]) => new Map(quotas.map((x) => [x.role, x]));
const NON_SCALAR = new Set(['ports', 'zones']);

describe('configProblem (one role, Mesos quota::validate)', () => {
  it('takes guarantees within limits, and names missing from either side', () => {
    expect(configProblem(q('db', { cpus: 2, mem: 512 }, { cpus: 4 }), NON_SCALAR)).toBeUndefined();
    expect(configProblem(q('db', {}, { cpus: 0 }), NON_SCALAR)).toBeUndefined();
    expect(configProblem(q('eng/web', { cpus: 0.5 }, { cpus: 0.5 }), NON_SCALAR)).toBeUndefined();
  });

  it('refuses a guarantee above its limit, naming the role, resource and both amounts', () => {
    expect(configProblem(q('db', { cpus: 4 }, { cpus: 2 }), NON_SCALAR)).toBe(
      "role 'db': the guarantee cpus:4 is above the limit cpus:2: 'QuotaConfig.guarantees' must be within 'QuotaConfig.limits'; raise the limit or lower the guarantee",
    );
    // In Mesos's fixed point (three decimals), 0.1 + 0.2 style noise is not "above".
    expect(configProblem(q('db', { cpus: 0.3 }, { cpus: 0.1 + 0.2 }), NON_SCALAR)).toBeUndefined();
  });

  it("refuses role '*', invalid role names, non-scalar and empty names, negative, infinite and huge amounts", () => {
    expect(configProblem(q('*', { cpus: 1 }), NON_SCALAR)).toMatch(/quota cannot be set on role '\*'/);
    expect(configProblem(q('-db', { cpus: 1 }), NON_SCALAR)).toMatch(/'QuotaConfig.role' is invalid: role '-db' is invalid/);
    expect(configProblem(q('a//b', { cpus: 1 }), NON_SCALAR)).toMatch(/role 'a\/\/b' is invalid/);
    expect(configProblem(q('db', { ports: 10 }), NON_SCALAR)).toMatch(/role 'db': guarantees \{'ports': 10\} is invalid: 'ports' is not a scalar resource/);
    expect(configProblem(q('db', {}, { zones: 1 }), NON_SCALAR)).toMatch(/limits \{'zones': 1\} is invalid/);
    expect(configProblem(q('db', { '': 1 }), NON_SCALAR)).toMatch(/empty name/);
    expect(configProblem(q('db', { cpus: -1 }), NON_SCALAR)).toBe("role 'db': guarantees {'cpus': -1} is invalid: the amount must not be negative");
    expect(configProblem(q('db', {}, { mem: Infinity }), NON_SCALAR)).toMatch(/limits \{'mem': Infinity\} is invalid: the amount must be a finite number/);
    expect(configProblem(q('db', { mem: 2 * 1024 ** 4 }), NON_SCALAR)).toMatch(/values greater than 1 exabyte/);
    expect(configProblem(q('db', {}, { cpus: 2e12 }), NON_SCALAR)).toMatch(/values greater than 1 trillion/);
  });
});

describe('treeProblem (all roles, Mesos QuotaTree)', () => {
  it("takes children whose guarantees sum within their parent's, and limits within every ancestor's", () => {
    expect(treeProblem(tree(q('eng', { cpus: 4 }, { cpus: 8 }), q('eng/web', { cpus: 3 }, { cpus: 8 }), q('eng/api', { cpus: 1 }), q('eng/web/x', {}, { cpus: 2 })))).toBeUndefined();
  });

  it("refuses children whose guarantees sum above their parent's, naming parent, children and amounts", () => {
    const problem = treeProblem(tree(q('eng', { cpus: 2 }), q('eng/web', { cpus: 2 }), q('eng/api', { cpus: 1 })));
    expect(problem).toBe(
      "the guarantees of role 'eng' (cpus:2) do not hold the sum of its children's guarantees (cpus:3, of 'eng/api', 'eng/web'): a child's guarantee is part of its parent's. " +
        "Give 'eng' a guarantee of at least cpus:3 (in the same call if you like), or lower the children's",
    );
  });

  it('refuses a guarantee under a parent without quota (named or implied), as Mesos does', () => {
    expect(treeProblem(tree(q('eng/web', { mem: 64 })))).toMatch(/the guarantees of role 'eng' \(none\) do not hold .* \(mem:64, of 'eng\/web'\)/);
    expect(treeProblem(tree(q('eng', { mem: 64 }), q('eng/web/x', { mem: 64 })))).toMatch(/role 'eng\/web' \(none\)/);
    // A limit alone under a parent without quota is fine: nothing is set aside.
    expect(treeProblem(tree(q('eng/web', {}, { mem: 64 })))).toBeUndefined();
  });

  it("refuses a limit above an ancestor's limit of the same resource", () => {
    expect(treeProblem(tree(q('eng', {}, { cpus: 4 }), q('eng/web/x', {}, { cpus: 5, mem: 10 })))).toBe(
      "the limit cpus:5 of role 'eng/web/x' is above the limit cpus:4 of its ancestor role 'eng': a role consumes within its ancestors' limits; lower it to at most 4",
    );
  });
});

describe('capacity heuristic', () => {
  it("sums the top-level roles' guarantees (they hold their children's) against the agents' non-revocable scalars", () => {
    const quotas = tree(q('eng', { cpus: 4, mem: 100 }), q('eng/web', { cpus: 3 }), q('ops', { cpus: 1 }));
    expect(totalGuarantees(quotas)).toEqual({ cpus: 5, mem: 100 });
    const capacity = clusterCapacity([
      [
        { name: 'cpus', type: 'SCALAR', scalar: { value: 2 } },
        { name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, reservations: [{ type: 'DYNAMIC', role: 'db' }] },
        { name: 'cpus', type: 'SCALAR', scalar: { value: 8 }, revocable: {} },
        { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 1, end: 2 }] } },
      ],
      [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1.5 } }, { name: 'mem', type: 'SCALAR', scalar: { value: 100 } }],
    ]);
    expect(capacity).toEqual({ cpus: 4.5, mem: 100 });
    expect(overcommitted(totalGuarantees(quotas), capacity)).toBe('cpus: 5 guaranteed, 4.5 in the cluster');
    expect(overcommitted({ cpus: 4.5, mem: 100 }, capacity)).toBeUndefined();
    expect(overcommitted({ gpus: 1 }, capacity)).toBe('gpus: 1 guaranteed, 0 in the cluster');
  });
});

describe('SET_QUOTA requests (QuotaRequest, Mesos validation::quotaInfo)', () => {
  const cpus = (value: number, extra = {}): Resource => ({ name: 'cpus', type: 'SCALAR', scalar: { value }, ...extra });

  it('becomes a quota whose limit is its guarantee (Mesos >= 1.9)', () => {
    expect(fromQuotaRequest({ role: 'db', guarantee: [cpus(2), { name: 'mem', type: 'SCALAR', scalar: { value: 64 }, role: '*' } as Resource] })).toEqual(q('db', { cpus: 2, mem: 64 }, { cpus: 2, mem: 64 }));
  });

  it('refuses what Mesos refuses, saying why', () => {
    expect(fromQuotaRequest({ guarantee: [cpus(1)] })).toMatch(/must specify a role/);
    expect(fromQuotaRequest({ role: 'db' })).toMatch(/empty 'guarantee'/);
    expect(fromQuotaRequest({ role: '*', guarantee: [cpus(1)] })).toMatch(/invalid role/);
    expect(fromQuotaRequest({ role: 'db', guarantee: [cpus(1), cpus(2)] })).toBe("QuotaInfo contains duplicate resource name 'cpus'");
    expect(fromQuotaRequest({ role: 'db', guarantee: [cpus(1, { reservations: [{ type: 'DYNAMIC', role: 'db' }] })] })).toMatch(/must not contain any ReservationInfo/);
    expect(fromQuotaRequest({ role: 'db', guarantee: [cpus(1, { revocable: {} })] })).toMatch(/RevocableInfo/);
    expect(fromQuotaRequest({ role: 'db', guarantee: [{ name: 'ports', type: 'RANGES', ranges: { range: [] } }] })).toMatch(/non-scalar resources \(resource 'ports' is RANGES\)/);
  });
});

describe('quota shapes', () => {
  const quota = q('db', { cpus: 2, mem: 0 }, { mem: 0, cpus: 4 });

  it('round-trips the QuotaConfig wire shape, and writes the legacy QuotaInfo', () => {
    expect(toWireConfig(quota)).toEqual({ role: 'db', guarantees: { cpus: { value: 2 }, mem: { value: 0 } }, limits: { cpus: { value: 4 }, mem: { value: 0 } } });
    expect(fromWireConfig(toWireConfig(quota))).toEqual(q('db', { cpus: 2 }, { mem: 0, cpus: 4 })); // a zero guarantee sets nothing aside
    expect(toWireConfig(q('db'))).toEqual({ role: 'db' });
    expect(quotaInfoOf(quota)).toEqual({ role: 'db', guarantee: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 2 } }, { name: 'mem', type: 'SCALAR', scalar: { value: 0 } }] });
  });

  it('tells the allocator the positive guarantees and every limit (a limit of 0 means none)', () => {
    expect(toAbiQuota(quota)).toEqual({
      role: 'db',
      guarantees: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 2 } }],
      limits: [
        { name: 'cpus', type: 'SCALAR', scalar: { value: 4 } },
        { name: 'mem', type: 'SCALAR', scalar: { value: 0 } },
      ],
    });
  });
});

describe('checkWeights (UPDATE_WEIGHTS, Mesos weights_handler)', () => {
  it('trims roles and takes positive weights, "*" included', () => {
    expect(checkWeights([{ role: ' prod ', weight: 2 }, { role: '*', weight: 0.5 }])).toEqual([
      { role: 'prod', weight: 2 },
      { role: '*', weight: 0.5 },
    ]);
  });

  it('refuses an empty or invalid role, and a weight that is not a positive finite number, naming the role', () => {
    expect(() => checkWeights([{ weight: 1 }])).toThrow(expect.objectContaining({ status: 400, message: expect.stringMatching(/Invalid role '': a role name must not be empty/) }));
    expect(() => checkWeights([{ role: 'a b', weight: 1 }])).toThrow(/Invalid role 'a b'/);
    for (const weight of [0, -1, NaN, Infinity]) {
      expect(() => checkWeights([{ role: 'prod', weight }])).toThrow(expect.objectContaining({ status: 400, message: expect.stringContaining(`for role 'prod': Invalid weight '${weight}': Weights must be positive`) }));
    }
  });
});
