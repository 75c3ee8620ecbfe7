// A task that runs as another user has that user's supplementary groups (as Mesos's os::su calls
// initgroups) and USER, LOGNAME and HOME; a task that runs as the agent's own user gets those too. The
// fetch runs with the same groups. Real users from /etc/passwd and /etc/group.
import fs from 'node:fs';
import path from 'node:path';
import { groupsOf, lookupUser, setpriv } from '../../core/src/agent/containerizer/task-user';
import { tempDir } from '../modules/helpers';
import { killLeftovers, makeRig, read, task, type Rig } from './containerizer-helpers';

/** A user that /etc/group lists as a member of a group other than its primary one (e.g. postgres in ssl-cert). */
function userWithSupplementaryGroup(): { name: string; uid: number; gid: number; home: string; extra: number } | undefined {
  for (const line of fs.readFileSync('/etc/group', 'utf8').split('\n')) {
    const [, , gid, members] = line.split(':');
    for (const name of (members ?? '').split(',').filter(Boolean)) {
      const u = lookupUser(name);
      if (u && u.uid !== 0 && u.gid !== Number(gid)) return { name, ...u, extra: Number(gid) };
    }
  }
  return undefined;
}

const member = process.getuid?.() === 0 && setpriv() ? userWithSupplementaryGroup() : undefined;
if (!member) console.log('supplementary group tests skipped: they need root, util-linux setpriv and a user with a supplementary group in /etc/group');
const describeIf = member ? describe : describe.skip;

const rigs: Rig[] = [];
const dirs: string[] = [];
afterAll(async () => {
  killLeftovers();
  await Promise.all(rigs.map((r) => r.c.close()));
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function rig(): Rig {
  const r = makeRig();
  fs.chmodSync(r.workDir, 0o755);
  rigs.push(r);
  return r;
}

describeIf('task users', () => {
  it('runs a task with its user\'s supplementary groups, USER, LOGNAME and HOME; the fetch reads with the same groups', async () => {
    const u = member!;
    // A file only the supplementary group may read: the fetch and the command both need the group.
    const dir = tempDir();
    dirs.push(dir);
    fs.chmodSync(dir, 0o755);
    const groupFile = path.join(dir, 'group-only.txt');
    fs.writeFileSync(groupFile, 'for the group\n', { mode: 0o640 });
    fs.chownSync(groupFile, 0, u.extra);
    const r = rig();
    const view = await r.launch(
      task('groups', {
        value: `id -G; echo "$USER $LOGNAME $HOME"; cat fetched.txt ${groupFile}`,
        user: u.name,
        uris: [{ value: groupFile, output_file: 'fetched.txt' }],
        shell: true,
      }),
    );
    expect(await r.c.wait(view.containerId)).toMatchObject({ state: 'TASK_FINISHED' });
    const [ids, names, ...rest] = read(path.join(view.sandbox, 'stdout')).split('\n');
    expect(ids.split(' ').map(Number).sort()).toEqual(groupsOf(u.name, u.gid).sort());
    expect(ids.split(' ').map(Number)).toContain(u.extra);
    expect(names).toBe(`${u.name} ${u.name} ${u.home}`);
    expect(rest.slice(0, 2)).toEqual(['for the group', 'for the group']);
  });

  it('gives a task that runs as the agent\'s own user USER, LOGNAME and HOME (a task\'s own variables win)', async () => {
    const r = rig();
    const view = await r.launch(task('own', { value: 'echo "$USER $LOGNAME $HOME"' }));
    expect(await r.c.wait(view.containerId)).toMatchObject({ state: 'TASK_FINISHED' });
    expect(read(path.join(view.sandbox, 'stdout'))).toBe(`root root ${lookupUser('root')!.home}\n`);
    const mine = await r.launch(task('own-home', { value: 'echo "$HOME"', environment: { variables: [{ name: 'HOME', value: '/srv/app' }] } }));
    expect(await r.c.wait(mine.containerId)).toMatchObject({ state: 'TASK_FINISHED' });
    expect(read(path.join(mine.sandbox, 'stdout'))).toBe('/srv/app\n');
  });
});
