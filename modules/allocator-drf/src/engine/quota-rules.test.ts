/**
 * The hierarchical quota rules (Mesos 1.9+): refused updates name the roles and amounts and change
 * nothing; changes valid only together are accepted together; the same check is exported.
 */
import { DrfAllocator } from './allocator';
import { validateQuotas } from './quota-rules';
import { parseResources } from './resource-text';
import { agentMsg, frameworkMsg, offeredTo } from './test-support';

const T0 = 1_700_000_000_000;
const q = (role: string, guarantees: string, limits = '') => ({ role, guarantees: parseResources(guarantees), limits: parseResources(limits) });

describe('quota updates', () => {
  it.each([
    [
      "a child's guarantee larger than its parent's",
      [q('eng', 'cpus:2'), q('eng/ml', 'cpus:8')],
      /updateQuota: role 'eng' with guarantees cpus:2 does not contain the sum of its children's guarantees cpus:8 \('eng\/ml' cpus:8\).*raise 'eng''s guarantee first/,
    ],
    [
      'a guarantee under a role without quota (it guarantees nothing)',
      [q('eng/ml', 'cpus:1')],
      /role 'eng' with guarantees none does not contain the sum of its children's guarantees cpus:1/,
    ],
    [
      "a child's guarantee larger than its parent's limit",
      [q('eng', 'cpus:2', 'cpus:2'), q('eng/ml', 'cpus:8')],
      /role 'eng' with guarantees cpus:2 does not contain .* cpus:8/,
    ],
    [
      "siblings' guarantees that together exceed their parent's",
      [q('eng', 'cpus:8;mem:1024'), q('eng/a', 'cpus:5'), q('eng/b', 'cpus:4;mem:512')],
      /role 'eng' with guarantees cpus:8;mem:1024 does not contain the sum of its children's guarantees cpus:9;mem:512 \('eng\/a' cpus:5, 'eng\/b' cpus:4;mem:512\)/,
    ],
    [
      "a limit above an ancestor's limit",
      [q('eng', '', 'cpus:4'), q('eng/ml/x', '', 'cpus:6')],
      /role 'eng\/ml\/x': limit cpus:6 exceeds the limit cpus:4 of its ancestor role 'eng'/,
    ],
    ['a guarantee above its own limit', [q('eng', 'cpus:6', 'cpus:4')], /role 'eng': guarantee cpus:6 exceeds its own limit cpus:4/],
    ["lowering a parent's guarantee below its child's", [q('eng', 'cpus:8'), q('eng/ml', 'cpus:6'), q('eng', 'cpus:4')], /role 'eng' with guarantees cpus:4 does not contain .* cpus:6/],
    ["lowering a parent's limit below its child's", [q('eng', '', 'cpus:8'), q('eng/ml', '', 'cpus:6'), q('eng', '', 'cpus:4')], /role 'eng\/ml': limit cpus:6 exceeds the limit cpus:4 of its ancestor role 'eng'/],
    ['quota on "*"', [q('*', 'cpus:1')], /quota cannot be set on role '\*'/],
  ])('refuses %s, naming the roles and amounts', (_what, updates, message) => {
    const e = new DrfAllocator();
    const last = updates.pop()!;
    for (const u of updates) e.updateQuota(u.role, u.guarantees, u.limits);
    expect(() => e.updateQuota(last.role, last.guarantees, last.limits)).toThrow(message);
  });

  it('changes nothing when it refuses an update', () => {
    const e = new DrfAllocator();
    for (let i = 0; i < 4; i++) e.addAgent(agentMsg(`a${i}`, 'cpus:4;mem:4096'));
    e.addFramework(frameworkMsg('f-ml', ['eng/ml']));
    e.addFramework(frameworkMsg('f-other', ['other']));
    e.updateQuota('eng', parseResources('cpus:4'), []);
    expect(() => e.updateQuota('eng/ml', parseResources('cpus:12'), [])).toThrow(/does not contain/);
    expect(() => e.updateQuotas([q('eng', 'cpus:16'), q('eng/ml', 'cpus:12'), q('other', 'cpus:1', 'cpus:0.5')])).toThrow(/'other': guarantee cpus:1 exceeds its own limit/);
    // Only eng's guarantee of 4 is in force: the rest is shared fairly.
    const offers = offeredTo(e.allocate(T0));
    expect(offers.get('f-ml')!.cpus).toBe(8);
    expect(offers.get('f-other')!.cpus).toBe(8);
  });

  it('accepts changes that are only valid together when they come together', () => {
    const e = new DrfAllocator();
    e.updateQuotas([q('p', 'cpus:2;mem:1'), q('p/c', 'cpus:2')]);
    // Moving amounts between names of a parent and its child: neither order works one by one.
    expect(() => e.updateQuota('p', parseResources('cpus:1;mem:2'), [])).toThrow(/does not contain/);
    expect(() => e.updateQuota('p/c', parseResources('mem:2'), [])).toThrow(/does not contain/);
    e.updateQuotas([q('p', 'cpus:1;mem:2'), q('p/c', 'mem:2')]);
    // Clearing works in any order when together; alone, only children first.
    expect(() => e.updateQuota('p', [], [])).toThrow(/role 'p' with guarantees none/);
    e.updateQuotas([q('p', ''), q('p/c', '')]);
    e.updateQuota('p/c', [], []);
  });

  it('checks the quotas of a snapshot as a whole, whatever their order', () => {
    const e = new DrfAllocator();
    e.loadSnapshot({ quotas: [q('eng/ml', 'cpus:2'), q('eng', 'cpus:4')] });
    expect(() => e.loadSnapshot({ quotas: [q('eng/ml', 'cpus:8'), q('eng', 'cpus:4')] })).toThrow(/snapshot quotas: role 'eng' with guarantees cpus:4 does not contain/);
  });
});

describe('validateQuotas', () => {
  it('says whether a whole set of quotas follows the rules, and why not', () => {
    expect(validateQuotas([q('eng', 'cpus:8', 'cpus:10'), q('eng/ml', 'cpus:8', 'cpus:10'), q('ops', '', 'mem:100')])).toBeNull();
    expect(validateQuotas([q('eng', 'cpus:2'), q('eng/ml', 'cpus:8')])).toMatch(/^role 'eng' with guarantees cpus:2 does not contain the sum of its children's guarantees cpus:8/);
    expect(validateQuotas([q('eng', 'cpus:2'), q('eng', 'cpus:3')])).toMatch(/role 'eng' has more than one quota in the set/);
    expect(validateQuotas([{ role: 'eng', guarantees: [{ name: 'cpus', type: 'SCALAR', scalar: { value: -1 } }] }])).toMatch(/^role 'eng': .*non-negative/);
  });
});
