import fs from 'node:fs';
import path from 'node:path';
import type { Resource } from './model/mesos';
import { registryFixture } from './registry.test-util';

const fixture = registryFixture('tessera-registry-res-');
const reg = (compactEvery?: number) => fixture.open({ compactEvery });
const agent = (n: number) => ({ id: `m-S${n}`, info: { hostname: `h${n}`, id: { value: `m-S${n}` } }, registeredTime: 1000 + n });
const reserved = (value: number): Resource[] => [{ name: 'cpus', type: 'SCALAR', scalar: { value }, reservations: [{ type: 'DYNAMIC', role: 'db', principal: 'p' }] }];
const logOps = () => fs.readFileSync(path.join(fixture.dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).op as string);

describe('Registry: dynamic reservations', () => {
  it('writes them before returning, keeps them across a reopen, forgets them with the agent', async () => {
    const r = reg();
    await Promise.all([r.putAgent(agent(1)), r.putAgent(agent(2))]);
    r.setReservations('m-S1', reserved(2));
    expect(logOps()).toEqual(['addAgent', 'addAgent', 'setReservations']); // on disk already
    r.setReservations('m-S1', reserved(2)); // unchanged: nothing written
    r.setReservations('m-S2', reserved(1));
    r.setReservations('m-S2', []);
    expect(logOps()).toEqual(['addAgent', 'addAgent', 'setReservations', 'setReservations', 'setReservations']);
    r.close();

    const again = reg();
    expect(again.reservationsOf('m-S1')).toEqual(reserved(2));
    expect(again.reservationsOf('m-S2')).toEqual([]);
    await again.removeAgent('m-S1');
    again.close();
    expect(reg().reservationsOf('m-S1')).toEqual([]);
  });

  it('keeps them through a compaction into the snapshot, and reads snapshots written before reservations existed', async () => {
    const r = reg(1);
    await r.putAgent(agent(1));
    await r.putAgent(agent(2));
    for (let i = 1; i <= 8; i++) r.setReservations('m-S1', reserved(i)); // past twice the entries: compacted
    r.setReservations('m-S1', reserved(3));
    r.close();
    const snapshot = JSON.parse(fs.readFileSync(path.join(fixture.dir, 'snapshot.json'), 'utf8'));
    expect(snapshot.reservations).toEqual([{ agentId: 'm-S1', resources: expect.any(Array) }]);
    expect(reg().reservationsOf('m-S1')).toEqual(reserved(3));

    fixture.closeAll();
    delete snapshot.reservations;
    fs.writeFileSync(path.join(fixture.dir, 'snapshot.json'), JSON.stringify(snapshot));
    fs.writeFileSync(path.join(fixture.dir, 'log.jsonl'), '');
    expect(reg().reservationsOf('m-S1')).toEqual([]);
  });

  it('refuses a damaged reservations line as TSR_REGISTRY_CORRUPT', () => {
    fs.writeFileSync(path.join(fixture.dir, 'log.jsonl'), `${JSON.stringify({ seq: 1, op: 'setReservations', agentId: 'm-S1', resources: 'cpus:1' })}\n`);
    expect(() => reg()).toThrow(expect.objectContaining({ code: 'TSR_REGISTRY_CORRUPT', message: expect.stringContaining('log.jsonl:1: reservations need "agentId" and "resources"') }));
  });
});
