// A container's processes end with it, as Mesos destroys the whole tree (os::killtree, or the cgroup):
// what a command left in the background when it ended, and what a killed task started in a session of
// its own. And a second kill with a shorter grace period brings the SIGKILL forward (Mesos's command
// executor), with both launchers and real processes.
import fs from 'node:fs';
import { killLeftovers, makeRig, task, type Rig } from './containerizer-helpers';

const rigs: Rig[] = [];
afterAll(async () => {
  killLeftovers();
  await Promise.all(rigs.map((r) => r.c.close()));
  for (const pid of pidsRunning(/^sleep 77[0-9]{2}$/)) process.kill(pid, 'SIGKILL');
});

/** pidsRunning lists the processes whose command line matches (e.g. a `sleep` with a duration only this test uses). */
function pidsRunning(re: RegExp): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      const state = /^State:\s+(\S)/m.exec(fs.readFileSync(`/proc/${name}/status`, 'utf8'))?.[1];
      if (re.test(cmd) && state !== 'Z') out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function gone(re: RegExp, ms = 3000): Promise<number[]> {
  const until = Date.now() + ms;
  let left = pidsRunning(re);
  while (left.length && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    left = pidsRunning(re);
  }
  return left;
}

describe.each(['fork-server', 'direct'] as const)('a container\'s processes end with it (%s launcher)', (launcher) => {
  const n = launcher === 'direct' ? 1 : 2;

  it('kills what the command left in the background when it ended (TASK_FINISHED)', async () => {
    const r = makeRig({ launcher });
    rigs.push(r);
    const view = await r.launch(task(`bg-${launcher}`, { value: `sleep 77${n}1 & echo started` }));
    expect(await r.c.wait(view.containerId)).toMatchObject({ state: 'TASK_FINISHED' });
    expect(await gone(new RegExp(`^sleep 77${n}1$`))).toEqual([]);
  });

  it('kills what a task started in a session of its own when the task is killed', async () => {
    const r = makeRig({ launcher });
    rigs.push(r);
    const view = await r.launch(task(`setsid-${launcher}`, { value: `setsid sleep 77${n}2 & setsid sh -c 'sleep 77${n}3' & sleep 77${n}4` }));
    for (let i = 0; i < 100 && pidsRunning(new RegExp(`^sleep 77${n}[234]$`)).length < 3; i++) await new Promise((res) => setTimeout(res, 20));
    expect(pidsRunning(new RegExp(`^sleep 77${n}[234]$`))).toHaveLength(3);
    await r.c.kill(view.containerId, { gracePeriodMs: 2000 });
    expect(await r.c.wait(view.containerId)).toMatchObject({ state: 'TASK_KILLED' });
    expect(await gone(new RegExp(`^sleep 77${n}[234]$`))).toEqual([]);
  });

  it('a second kill with a shorter grace period brings the SIGKILL forward; a longer one changes nothing', async () => {
    const r = makeRig({ launcher });
    rigs.push(r);
    // Ignores SIGTERM: only the SIGKILL ends it.
    const view = await r.launch(task(`stubborn-${launcher}`, { value: `trap '' TERM; while :; do sleep 1; done` }));
    await new Promise((res) => setTimeout(res, 100));
    const started = Date.now();
    const first = r.c.kill(view.containerId, { gracePeriodMs: 60_000 });
    await new Promise((res) => setTimeout(res, 300));
    void r.c.kill(view.containerId, { gracePeriodMs: 120_000 }); // a retry with a longer grace: no change
    void r.c.kill(view.containerId, { gracePeriodMs: 200 });
    await first;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await r.c.wait(view.containerId)).toMatchObject({ state: 'TASK_KILLED', message: 'Command terminated with signal Killed' });
  });
});
