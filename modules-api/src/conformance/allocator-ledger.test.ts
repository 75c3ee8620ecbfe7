// The rules the allocator kit checks on every offer, and the resource text it builds inputs from: what
// must be flagged, and, as much, what must not (an allocator may offer what the kit just gave back).
import { AllocatorLedger } from './allocator-ledger';
import { agent, allocated, framework, quantities, resources, without, type Offer } from './allocator-resources';

const offer = (seq: number, frameworkId: string, agentId: string, role: string, text: string): Offer => ({ seq, frameworkId, agentId, role, resources: allocated(text, role) });

function ledger(): AllocatorLedger {
  const l = new AllocatorLedger();
  l.input(1, {
    snapshot: {
      agents: [agent('a1', 'cpus:4;mem:4096', { used: [{ framework: 'fw-1', role: 'web', resources: 'cpus:1;mem:1024' }] }), agent('a2', 'cpus:4;mem:4096')],
      frameworks: [framework('fw-1', ['web']), framework('fw-2', ['ops/team'])],
      outstandingOffers: [{ frameworkId: 'fw-2', agentId: 'a2', role: 'ops/team', resources: allocated('cpus:2;mem:2048', 'ops/team') }],
    },
  });
  return l;
}

describe('AllocatorLedger', () => {
  it("counts a snapshot's used resources and outstanding offers as held", () => {
    const l = ledger();
    l.offer(offer(1, 'fw-1', 'a1', 'web', 'cpus:3;mem:3072'));
    l.offer(offer(1, 'fw-1', 'a2', 'web', 'cpus:2;mem:2048'));
    expect(l.problems).toEqual([]);
    l.offer(offer(1, 'fw-2', 'a2', 'ops/team', 'cpus:0.5'));
    expect(l.problems).toEqual([expect.stringMatching(/^the offer to fw-2 of agent a2 \(seq 1\) over-offers the agent: it has cpus:4;mem:4096 in total, but then cpus:4\.5 would be offered or used \(fw-2 cpus:2\.5;mem:2048, fw-1 cpus:2;mem:2048\)/)]);
  });

  it('frees resources as soon as the kit sends recover_resources, and forgets what a removed framework held', () => {
    const l = ledger();
    l.offer(offer(1, 'fw-1', 'a2', 'web', 'cpus:2;mem:2048'));
    l.input(2, { recoverResources: { frameworkId: 'fw-1', agentId: 'a2', resources: allocated('cpus:2;mem:2048', 'web') } });
    l.input(3, { removeFramework: { frameworkId: 'fw-2' } });
    l.offer(offer(3, 'fw-1', 'a2', 'web', 'cpus:4;mem:4096'));
    expect(l.problems).toEqual([]);
  });

  it('flags offers naming what was removed, from the seq of the removal on', () => {
    const l = ledger();
    l.input(2, { removeAgent: { agentId: 'a2' } });
    l.input(3, { removeFramework: { frameworkId: 'fw-1' } });
    l.offer(offer(1, 'fw-1', 'a2', 'web', 'cpus:1')); // made before the module applied either removal
    expect(l.problems).toEqual([]);
    l.offer(offer(2, 'fw-2', 'a2', 'ops/team', 'cpus:1'));
    l.offer(offer(3, 'fw-1', 'a1', 'web', 'cpus:1'));
    expect(l.problems).toEqual([
      expect.stringContaining('names agent a2, removed by remove_agent at seq 2'),
      expect.stringContaining('names framework fw-1, removed by remove_framework at seq 3'),
    ]);
  });

  it('flags reserved resources given outside the reservation role, unknown names and a wrong allocation_info', () => {
    const l = ledger();
    l.input(2, { addAgent: agent('r1', 'cpus(ops):2;mem:64') });
    l.offer(offer(2, 'fw-2', 'r1', 'ops/team', 'cpus(ops):1')); // ops/team is a descendant of ops
    expect(l.problems).toEqual([]);
    l.offer(offer(2, 'fw-x', 'r1', 'ops-east', 'cpus(ops):1'));
    l.offer({ ...offer(2, 'fw-1', 'nowhere', 'web', 'cpus:1') });
    l.offer({ ...offer(2, 'fw-1', 'a1', 'web', 'cpus:1'), resources: allocated('cpus:1', 'ops') });
    expect(l.problems).toEqual([
      expect.stringContaining('names a framework the stream never added'),
      expect.stringContaining('gives cpus reserved for role ops to role ops-east'),
      expect.stringContaining('names an agent the stream never added'),
      expect.stringContaining('holds cpus whose allocation_info.role is "ops"'),
    ]);
  });
});

describe('allocator resources', () => {
  it('parses the Mesos text form: scalars, ranges, sets and static reservations', () => {
    expect(resources('cpus:0.5;ports:[31000-31009,32000-32000];zones:{a,b};mem(ops):64')).toEqual([
      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } },
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31009 }, { begin: 32000, end: 32000 }] } },
      { name: 'zones', type: 'SET', set: { item: ['a', 'b'] } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 64 }, reservations: [{ type: 'STATIC', role: 'ops' }] },
    ]);
    expect(() => resources('cpus=4')).toThrow('bad resource "cpus=4": expected name[(role)]:value');
  });

  it('sums quantities per name to thousandths, and takes scalars away for a partial recover', () => {
    expect([...quantities(resources('cpus:0.1;cpus:0.2;ports:[1-10];mem(ops):1'))]).toEqual([
      ['cpus', 0.3],
      ['ports', 10],
      ['mem', 1],
    ]);
    expect(without(allocated('cpus:4;mem:4096;ports:[1-2]', 'web'), quantities(resources('cpus:1;mem:4096')))).toEqual(allocated('cpus:3;ports:[1-2]', 'web'));
  });
});
