import fs from 'node:fs';
import path from 'node:path';
import { registryFixture } from './registry.test-util';

const fixture = registryFixture('tessera-registry-quota-');
const reg = (compactEvery?: number) => fixture.open({ compactEvery });
const logOps = () => fs.readFileSync(path.join(fixture.dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).op as string);
const DB = { role: 'db', guarantees: { cpus: 2 }, limits: { cpus: 4, mem: 0 } };

describe('Registry: quotas and weights', () => {
  it('writes them before returning and keeps them across a reopen; an empty quota removes the role', () => {
    const r = reg();
    r.updateQuota([DB, { role: 'web', guarantees: {}, limits: { cpus: 1 } }]);
    r.updateWeights([{ role: 'db', weight: 2 }, { role: 'web', weight: 0.5 }]);
    expect(logOps()).toEqual(['updateQuota', 'updateWeights']); // on disk already
    r.updateQuota([{ role: 'web', guarantees: {}, limits: {} }]);
    r.updateWeights([{ role: 'web', weight: 3 }]);
    r.updateQuota([]); // nothing to record: no line
    r.close();

    const again = reg();
    expect([...again.quotas.values()]).toEqual([DB]);
    expect([...again.weights]).toEqual([
      ['db', 2],
      ['web', 3],
    ]);
  });

  it('keeps them through a compaction into the snapshot, and reads snapshots that hold none (earlier releases)', () => {
    const r = reg(1);
    r.updateQuota([DB]);
    for (let i = 1; i <= 6; i++) r.updateWeights([{ role: 'db', weight: i }]); // past twice the entries: compacted
    r.close();
    const snapshot = JSON.parse(fs.readFileSync(path.join(fixture.dir, 'snapshot.json'), 'utf8'));
    expect(snapshot.weights).toEqual([{ role: 'db', weight: expect.any(Number) }]);
    expect(snapshot.quota).toEqual([DB]);
    const again = reg();
    expect(again.quotas.get('db')).toEqual(DB);
    expect(again.weights.get('db')).toBe(6);

    fixture.closeAll();
    fs.writeFileSync(path.join(fixture.dir, 'snapshot.json'), JSON.stringify({ ...snapshot, quota: [], weights: [] }));
    fs.writeFileSync(path.join(fixture.dir, 'log.jsonl'), '');
    const old = reg();
    expect([old.quotas.size, old.weights.size]).toEqual([0, 0]);
  });

  it('refuses damaged quota and weight lines as TSR_REGISTRY_CORRUPT, naming the line', () => {
    fs.writeFileSync(path.join(fixture.dir, 'log.jsonl'), `${JSON.stringify({ seq: 1, op: 'updateQuota', quotas: [{ role: 'db', guarantees: 'cpus:1' }] })}\n`);
    expect(() => reg()).toThrow(expect.objectContaining({ code: 'TSR_REGISTRY_CORRUPT', message: expect.stringContaining('log.jsonl:1: quotas[0]: a quota needs "role", "guarantees" and "limits"') }));
    fs.writeFileSync(path.join(fixture.dir, 'log.jsonl'), `${JSON.stringify({ seq: 1, op: 'updateWeights', weights: [{ role: 'db', weight: '2' }] })}\n`);
    expect(() => reg()).toThrow(expect.objectContaining({ code: 'TSR_REGISTRY_CORRUPT', message: expect.stringContaining('log.jsonl:1: weights[0]: a weight needs "role" and "weight"') }));
  });
});
