import fs from 'node:fs';
import path from 'node:path';
import { createLog, type Log } from '../log';
import { Registry } from './registry';
import { registryFixture } from './registry.test-util';

const fixture = registryFixture('tessera-registry-');
let lines: string[];
let log: Log;

beforeEach(() => {
  lines = [];
  log = createLog({ level: 'debug', write: (l) => void lines.push(l) });
});

const reg = (opts: { compactEvery?: number } = {}) => fixture.open({ ...opts, log });
const agent = (n: number) => ({ id: `m-S${n}`, info: { hostname: `h${n}`, id: { value: `m-S${n}` }, resources: [{ name: 'cpus', type: 'SCALAR' as const, scalar: { value: n } }] }, registeredTime: 1000 + n });
const framework = (n: number, failover = 60) => ({ id: `m-000${n}`, info: { user: 'u', name: `f${n}`, id: { value: `m-000${n}` }, failover_timeout: failover }, registeredTime: 2000 + n });
const logFile = () => path.join(fixture.dir, 'log.jsonl');

describe('Registry', () => {
  it('keeps agents, frameworks and task locations across a reopen', async () => {
    const r = reg();
    await Promise.all([r.putAgent(agent(1)), r.putAgent(agent(2)), r.putAgent(agent(3))]);
    r.putFramework(framework(1));
    r.putFramework(framework(1, 120));
    r.addTask({ frameworkId: 'm-0001', taskId: 't1', agentId: 'm-S1' });
    r.addTask({ frameworkId: 'm-0001', taskId: 't2', agentId: 'm-S2' });
    r.addTask({ frameworkId: 'm-0001', taskId: 't3', agentId: 'm-S2' });
    r.removeTask('m-0001', 't3');
    await r.removeAgent('m-S3');
    r.close();

    const again = reg();
    expect([...again.agents.keys()].sort()).toEqual(['m-S1', 'm-S2']);
    expect(again.agents.get('m-S1')).toEqual(agent(1));
    expect(again.frameworks.get('m-0001')!.info.failover_timeout).toBe(120);
    expect(again.tasksOf('m-S2').map((t) => t.taskId)).toEqual(['t2']);
    expect(again.agentOf('m-0001', 't1')).toBe('m-S1');
    const ops = fs.readFileSync(logFile(), 'utf8').trim().split('\n').map((l) => JSON.parse(l).op);
    expect(ops).toEqual(['addAgent', 'addAgent', 'addAgent', 'addFramework', 'updateFramework', 'addTask', 'addTask', 'addTask', 'removeTask', 'removeAgent']);
  });

  it('answers agent writes only once they are on disk, one write per event-loop turn, and skips writes that change nothing', async () => {
    const r = reg();
    const writes = jest.spyOn(fs, 'fsyncSync');
    try {
      const durable = Array.from({ length: 500 }, (_, i) => r.putAgent(agent(i)));
      expect(fs.readFileSync(logFile(), 'utf8')).toBe(''); // nothing answered yet
      await Promise.all(durable);
      expect(fs.readFileSync(logFile(), 'utf8').trim().split('\n')).toHaveLength(500);
      expect(writes).toHaveBeenCalledTimes(1);
    } finally {
      writes.mockRestore();
    }
    expect(r.putAgent(agent(7))).toBeUndefined();
    // A re-registering agent's info decodes with its keys in another order: still nothing to write.
    const { hostname, id, resources } = agent(7).info;
    expect(r.putAgent({ ...agent(7), info: { resources: [{ scalar: resources[0].scalar, type: 'SCALAR', name: 'cpus' }], id, hostname } })).toBeUndefined();
    expect(r.putAgent({ ...agent(7), info: { ...agent(7).info, hostname: 'renamed' } })).toBeInstanceOf(Promise);
    r.putFramework(framework(1));
    const before = r.logLength;
    r.putFramework(framework(1));
    r.removeFramework('unknown');
    expect(r.logLength).toBe(before);
  });

  it('framework writes are durable when the call returns, in order with agent writes queued before them', async () => {
    const r = reg();
    const added = r.putAgent(agent(1));
    r.putFramework(framework(1));
    const ops = fs.readFileSync(logFile(), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(ops.map((o) => [o.seq, o.op])).toEqual([
      [1, 'addAgent'],
      [2, 'addFramework'],
    ]);
    await added;
  });

  it('removing a framework or an agent forgets its tasks', () => {
    const r = reg();
    void r.putAgent(agent(1));
    r.putFramework(framework(1));
    r.putFramework(framework(2));
    r.addTask({ frameworkId: 'm-0001', taskId: 'a', agentId: 'm-S1' });
    r.addTask({ frameworkId: 'm-0002', taskId: 'b', agentId: 'm-S1' });
    r.removeFramework('m-0001');
    expect(r.tasksOf('m-S1').map((t) => t.taskId)).toEqual(['b']);
    void r.removeAgent('m-S1');
    expect(r.agentOf('m-0002', 'b')).toBeUndefined();
    r.setAgentTasks('m-S9', [{ frameworkId: 'm-0002', taskId: 'c' }]);
    r.setAgentTasks('m-S9', [{ frameworkId: 'm-0002', taskId: 'd' }]);
    expect(r.tasksOf('m-S9').map((t) => t.taskId)).toEqual(['d']);
  });

  it('compacts the log into a snapshot past compactEvery lines and twice the state, and loads snapshot plus log', async () => {
    const r = reg({ compactEvery: 10 });
    for (let i = 0; i < 30; i++) await r.putAgent(agent(i));
    expect(fs.existsSync(path.join(fixture.dir, 'snapshot.json'))).toBe(false); // 30 lines for 30 agents: rewriting them all would not pay
    for (let i = 0; i < 31; i++) await r.putAgent({ ...agent(0), info: { ...agent(0).info, hostname: `h0-${i}` } });
    expect(fs.existsSync(path.join(fixture.dir, 'snapshot.json'))).toBe(true);
    expect(r.logLength).toBeLessThan(60);
    await r.removeAgent('m-S1');
    r.putFramework(framework(1));
    r.close();
    const snapshot = JSON.parse(fs.readFileSync(path.join(fixture.dir, 'snapshot.json'), 'utf8'));
    expect(snapshot).toMatchObject({ format: 'tessera-master-registry', version: 1, quota: [], weights: [] });
    const again = reg({ compactEvery: 10 });
    expect(again.agents.size).toBe(29);
    expect(again.agents.has('m-S1')).toBe(false);
    expect(again.agents.get('m-S0')!.info.hostname).toBe('h0-30');
    expect(again.frameworks.has('m-0001')).toBe(true);
  });

  it('ignores log lines already in the snapshot (a compaction that stopped before emptying the log)', async () => {
    const r = reg({ compactEvery: 3 });
    await r.putAgent(agent(0));
    await r.putAgent(agent(1));
    const keptLog = fs.readFileSync(logFile(), 'utf8'); // seq 1 and 2
    for (let i = 0; i < 3; i++) await r.putAgent({ ...agent(0), info: { ...agent(0).info, hostname: `h0-${i}` } }); // compacts at seq 5
    expect(r.logLength).toBe(0);
    r.close();
    fs.writeFileSync(logFile(), keptLog); // as if the crash came before the log was emptied
    fs.appendFileSync(logFile(), `${JSON.stringify({ seq: 6, op: 'removeAgent', id: 'm-S1' })}\n`);
    const again = reg();
    expect([...again.agents.keys()]).toEqual(['m-S0']);
    expect(again.agents.get('m-S0')!.info.hostname).toBe('h0-2'); // not seq 1's older info
  });

  it('drops a torn last line (a crash mid-write) with a warning, and appends after it cleanly', async () => {
    const r = reg();
    await r.putAgent(agent(1));
    await r.putAgent(agent(2));
    r.close();
    const full = `${JSON.stringify({ seq: 3, op: 'addAgent', agent: agent(3) })}\n`;
    fs.appendFileSync(logFile(), full.slice(0, 40));
    const again = reg();
    expect([...again.agents.keys()]).toEqual(['m-S1', 'm-S2']);
    expect(lines.some((l) => /WARN/.test(l) && /torn last line of .*log\.jsonl \(line 3/.test(l))).toBe(true);
    await again.putAgent(agent(4));
    again.close();
    expect([...reg().agents.keys()]).toEqual(['m-S1', 'm-S2', 'm-S4']);
  });

  it('refuses a corrupt line that is not the last one with TSR_REGISTRY_CORRUPT naming file and line', async () => {
    const r = reg();
    await r.putAgent(agent(1));
    await r.putAgent(agent(2));
    r.close();
    const text = fs.readFileSync(logFile(), 'utf8').split('\n');
    text[0] = text[0].slice(0, 30); // a torn line followed by more lines is not a crash mid-write
    fs.writeFileSync(logFile(), text.join('\n'));
    expect(() => Registry.open({ dir: fixture.dir, log })).toThrow(expect.objectContaining({ code: 'TSR_REGISTRY_CORRUPT', message: expect.stringContaining(`${logFile()}:1: not valid JSON`) }));
  });

  it('refuses unknown operations, missing fields and out-of-order lines', () => {
    const cases: [string, RegExp][] = [
      [JSON.stringify({ seq: 1, op: 'addQuota', role: 'a' }), /:1: unknown op "addQuota"/],
      [JSON.stringify({ seq: 1, op: 'addAgent', agent: { id: 'x' } }), /:1: an agent needs "id", "info" and "registeredTime"/],
      [`${JSON.stringify({ seq: 2, op: 'removeAgent', id: 'a' })}\n${JSON.stringify({ seq: 2, op: 'removeAgent', id: 'b' })}`, /:2: seq 2 does not follow seq 2/],
    ];
    for (const [content, message] of cases) {
      fs.writeFileSync(logFile(), `${content}\n`);
      expect(() => Registry.open({ dir: fixture.dir, log })).toThrow(expect.objectContaining({ code: 'TSR_REGISTRY_CORRUPT', message: expect.stringMatching(message) }));
    }
  });

  it('refuses a corrupt snapshot, and a snapshot of another format version', () => {
    const snapshot = path.join(fixture.dir, 'snapshot.json');
    fs.writeFileSync(snapshot, '{\n  "format": "tessera-master-registry",\n  "version": 1,\n  oops\n}');
    expect(() => Registry.open({ dir: fixture.dir, log })).toThrow(expect.objectContaining({ code: 'TSR_REGISTRY_CORRUPT', message: expect.stringContaining(`${snapshot}:4: not valid JSON`) }));
    fs.writeFileSync(snapshot, JSON.stringify({ format: 'tessera-master-registry', version: 2, seq: 0, agents: [], frameworks: [], tasks: [] }));
    expect(() => Registry.open({ dir: fixture.dir, log })).toThrow(/snapshot version 2 is not the version 1/);
  });

  it('reports a directory it cannot create as TSR_REGISTRY_WRITE_FAILED', () => {
    const file = path.join(fixture.dir, 'a-file');
    fs.writeFileSync(file, '');
    expect(() => Registry.open({ dir: path.join(file, 'registry'), log })).toThrow(expect.objectContaining({ code: 'TSR_REGISTRY_WRITE_FAILED' }));
  });
});
