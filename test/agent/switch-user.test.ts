// Who a task runs as, as Mesos's --switch_user decides it: a real master, real `tessera agent` processes
// (as root) and real containers. With the flag (the default) a task runs as its CommandInfo.user, else as
// its framework's user; without it, as the agent's user.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunningMaster } from '../../core/src/master/run-master';
import { tempDir } from '../modules/helpers';
import { AgentProcess, cleanupAll, Framework, getJson, startMaster } from './agent-cluster';

const rootWithNobody = process.getuid?.() === 0 && (() => {
  try {
    return os.userInfo({ encoding: 'utf8' }) && fs.readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.startsWith('nobody:'));
  } catch {
    return false;
  }
})();
if (!rootWithNobody) console.log('switch-user tests skipped: they need root and a "nobody" user to switch to');
const describeIf = rootWithNobody ? describe : describe.skip;

let master: RunningMaster;
const dirs: string[] = [];
afterAll(async () => {
  await cleanupAll();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function agentWith(flags: string[]): Promise<{ agent: AgentProcess; agentId: string; workDir: string }> {
  const workDir = tempDir(); // mkdtemp: mode 0700
  dirs.push(workDir);
  const agent = new AgentProcess({ master: master.address, workDir, resources: 'cpus:1;mem:256;disk:100', flags });
  return { agent, agentId: await agent.start(), workDir };
}

/** whoRan runs `id -un` as a task and reads who it was from the sandbox's stdout (or the failure's message). */
async function whoRan(fw: Framework, a: { agent: AgentProcess; agentId: string }, id: string, user?: string): Promise<string> {
  await fw.launch(a.agentId, [{ id, cmd: 'id -un', ...(user && { extra: { command: { value: 'id -un', user } } }) }]);
  const end = await Promise.race(['TASK_FINISHED', 'TASK_FAILED'].map((s) => fw.sched.update(id, s)));
  if (end.update.status.state !== 'TASK_FINISHED') return `${end.update.status.state}: ${end.update.status.message}`;
  const state = await a.agent.state();
  const executor = state.frameworks.concat(state.completed_frameworks ?? []).flatMap((f: any) => [...f.executors, ...f.completed_executors]).find((e: any) => e.id === id);
  const read = await getJson(a.agent.address, `/files/read?path=${encodeURIComponent(`${executor.directory}/stdout`)}&offset=0`);
  return read.body.data.trim();
}

describeIf('--switch_user', () => {
  beforeAll(async () => {
    master = await startMaster();
  });

  it('runs a task as its framework\'s user, or its CommandInfo.user, by default; a user the host lacks fails the task naming it', async () => {
    const a = await agentWith([]);
    const fw = await Framework.subscribe(master.address, { user: 'nobody' });
    // A work_dir other users cannot pass through: the launch fails saying which directory and what to do.
    const dir = a.workDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(await whoRan(fw, a, 'unreachable')).toMatch(
      new RegExp(`^TASK_FAILED: .*user "nobody" cannot reach ${dir}/\\S+: ${dir} \\(mode 0700, owner 0:0\\) does not let it pass; make the agent's --work_dir .* \\(chmod o\\+x ${dir}\\)`),
    );
    fs.chmodSync(a.workDir, 0o755);
    expect(await whoRan(fw, a, 'as-framework-user')).toBe('nobody');
    expect(await whoRan(fw, a, 'as-command-user', 'root')).toBe('root');
    expect(await whoRan(fw, a, 'as-missing-user', 'no-such-user-xyz')).toMatch(/^TASK_FAILED: .*user "no-such-user-xyz" does not exist on this agent/);
    await fw.teardown();
  }, 90_000);

  it('fetches local files for a task with its user\'s permissions: what nobody may not read is refused, naming why', async () => {
    const a = await agentWith([]);
    fs.chmodSync(a.workDir, 0o755);
    const files = tempDir();
    dirs.push(files);
    fs.chmodSync(files, 0o755);
    fs.writeFileSync(path.join(files, 'secret.txt'), 'root only\n', { mode: 0o600 });
    fs.writeFileSync(path.join(files, 'public.txt'), 'for everyone\n', { mode: 0o644 });
    const fw = await Framework.subscribe(master.address, { user: 'nobody' });
    await fw.launch(a.agentId, [{ id: 'fetch-secret', cmd: 'cat secret.txt', extra: { command: { value: 'cat secret.txt', uris: [{ value: path.join(files, 'secret.txt') }] } } }]);
    const refused = (await fw.sched.update('fetch-secret', 'TASK_FAILED')).update.status;
    expect(refused.message).toMatch(new RegExp(`fetching ${files}/secret.txt: user "nobody" may not read ${files}/secret.txt \\(mode 0600, owner 0:0\\): the fetcher reads local files with the permissions of the task's user`));
    await fw.launch(a.agentId, [{ id: 'fetch-public', cmd: 'cat public.txt', extra: { command: { value: 'cat public.txt', uris: [{ value: `file://${files}/public.txt` }] } } }]);
    expect((await fw.sched.update('fetch-public', 'TASK_FINISHED')).update.status.state).toBe('TASK_FINISHED');
    await fw.teardown();
  }, 90_000);

  it('with --switch_user=false runs every task as the agent\'s user', async () => {
    const a = await agentWith(['--switch_user=false']);
    const fw = await Framework.subscribe(master.address, { user: 'nobody' });
    expect(await whoRan(fw, a, 'no-switch')).toBe('root');
    expect(await whoRan(fw, a, 'no-switch-command-user', 'nobody')).toBe('root');
    await fw.teardown();
  }, 90_000);
});
