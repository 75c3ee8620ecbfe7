// The fetcher must not let a task's URIs reach outside its sandbox, though the agent runs as root: real
// archives made here with symbolic links (and a FIFO) in them, a root-only victim file outside the
// sandbox, tasks as the agent's user (root) and as "nobody". The victim must stay untouched and the
// launch fail naming what the archive held.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LaunchError } from '../../core/src/agent/containerizer';
import { runFetchWorker } from '../../core/src/agent/containerizer/fetch-worker';
import { tempDir } from '../modules/helpers';
import { killLeftovers, makeRig, task, type Rig } from './containerizer-helpers';

const rootWithNobody = process.getuid?.() === 0 && fs.readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.startsWith('nobody:'));
if (!rootWithNobody) console.log('fetch escape tests skipped: they need root and a "nobody" user');
const describeIf = rootWithNobody ? describe : describe.skip;

const rigs: Rig[] = [];
let victimDir: string;
let victim: string;
let archives: string;

/** CRAFT writes a tar whose members are given as JSON: [name, kind ('file' | 'link' | 'fifo' | 'dir'), content or link target]. */
const CRAFT = `import io, json, sys, tarfile
with tarfile.open(sys.argv[1], 'w') as t:
    for name, kind, value in json.loads(sys.argv[2]):
        i = tarfile.TarInfo(name)
        if kind == 'link':
            i.type = tarfile.SYMTYPE; i.linkname = value; t.addfile(i)
        elif kind == 'fifo':
            i.type = tarfile.FIFOTYPE; t.addfile(i)
        elif kind == 'dir':
            i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)
        else:
            data = value.encode(); i.size = len(data); i.mode = 0o644; t.addfile(i, io.BytesIO(data))
`;

function tarball(name: string, members: [string, 'file' | 'link' | 'fifo' | 'dir', string][]): string {
  const file = path.join(archives, name);
  execFileSync('python3', ['-c', CRAFT, file, JSON.stringify(members)]);
  fs.chmodSync(file, 0o644);
  return file;
}

beforeAll(() => {
  if (!rootWithNobody) return;
  victimDir = tempDir();
  fs.chmodSync(victimDir, 0o755);
  victim = path.join(victimDir, 'victim');
  fs.writeFileSync(victim, 'root only\n', { mode: 0o600 });
  archives = tempDir();
  fs.chmodSync(archives, 0o755);
});

afterAll(async () => {
  killLeftovers();
  await Promise.all(rigs.map((r) => r.c.close()));
  if (victimDir) fs.rmSync(victimDir, { recursive: true, force: true });
  if (archives) fs.rmSync(archives, { recursive: true, force: true });
});

function rig(): Rig {
  const r = makeRig({ fetchTimeoutMs: 10_000 });
  fs.chmodSync(r.workDir, 0o755); // nobody must reach its sandbox
  rigs.push(r);
  return r;
}

async function failure(r: Rig, id: string, uris: object[], user: string | undefined): Promise<LaunchError['failure']> {
  try {
    await r.launch(task(id, { value: 'echo ran', uris: uris as never, ...(user && { user }) }));
  } catch (err) {
    expect(err).toBeInstanceOf(LaunchError);
    return (err as LaunchError).failure;
  }
  throw new Error(`expected the launch of ${id} to fail`);
}

function victimUntouched(): void {
  const st = fs.statSync(victim);
  expect({ content: fs.readFileSync(victim, 'utf8'), mode: st.mode & 0o7777, uid: st.uid }).toEqual({ content: 'root only\n', mode: 0o600, uid: 0 });
  expect(fs.readdirSync(victimDir)).toEqual(['victim']);
}

describeIf('the fetcher keeps a task inside its sandbox', () => {
  for (const user of [undefined, 'nobody']) {
    const who = user ?? 'root (the agent\'s user)';

    it(`an archive's stdout linked to a file outside fails the launch, and no output reaches that file (task as ${who})`, async () => {
      const r = rig();
      const evil = tarball(`stdout-link-${user ?? 'root'}.tar`, [['stdout', 'link', victim], ['app.txt', 'file', 'app\n']]);
      const f = await failure(r, `stdout-${user ?? 'root'}`, [{ value: evil }], user);
      expect(f).toMatchObject({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED' });
      expect(f.message).toBe(`fetching ${evil}: the archive's member stdout is a symbolic link to ${victim}: the sandbox's stdout must stay a regular file (the task's output goes there)`);
      victimUntouched();
    });

    it(`an archive whose member replaces the archive itself with a link outside is not made executable through it (task as ${who})`, async () => {
      const r = rig();
      const evil = tarball('app.tar', [['app.tar', 'link', victim]]);
      const f = await failure(r, `chmod-${user ?? 'root'}`, [{ value: evil, executable: true }], user);
      expect(f.message).toMatch(new RegExp(`^fetching ${evil}: app\\.tar is a symbolic link \\(to ${victim}\\), put there by an archive: only a regular file of the sandbox is made executable`));
      victimUntouched();
    });

    it(`a second archive does not extract through a link the first one left (task as ${who})`, async () => {
      const r = rig();
      const first = tarball(`first-${user ?? 'root'}.tar`, [['lib', 'link', victimDir]]);
      const second = tarball(`second-${user ?? 'root'}.tar`, [['lib', 'dir', ''], ['lib/victim', 'file', 'pwned\n'], ['lib/new', 'file', 'pwned\n']]);
      const f = await failure(r, `through-${user ?? 'root'}`, [{ value: first }, { value: second }], user);
      expect(f.message).toBe(`fetching ${second}: the archive's member lib would be extracted through the symbolic link lib (to ${victimDir}), which leads out of the sandbox`);
      victimUntouched();
    });

    it(`a FIFO named stdout in an archive fails the launch at once instead of blocking the agent (task as ${who})`, async () => {
      const r = rig();
      const evil = tarball(`fifo-${user ?? 'root'}.tar`, [['stdout', 'fifo', '']]);
      const started = Date.now();
      const ticks: number[] = [];
      const timer = setInterval(() => ticks.push(Date.now()), 20);
      try {
        const f = await failure(r, `fifo-${user ?? 'root'}`, [{ value: evil }], user);
        expect(f.message).toMatch(/the archive's member stdout is a FIFO: the sandbox's stdout must stay a regular file/);
      } finally {
        clearInterval(timer);
      }
      expect(Date.now() - started).toBeLessThan(5000);
      expect(ticks.length).toBeGreaterThan(0); // the agent's event loop kept turning
    });
  }

  it('the sandbox files a task sees are what it was given; links inside the sandbox still work', async () => {
    const r = rig();
    const fine = tarball('fine.tar', [['app', 'dir', ''], ['app/run.sh', 'file', 'echo inside\n'], ['run.sh', 'link', 'app/run.sh']]);
    const view = await r.launch(task('fine', { value: 'sh run.sh && id -un && ls -ld . | cut -d" " -f3', uris: [{ value: fine }], user: 'nobody' }));
    expect(await r.c.wait(view.containerId)).toMatchObject({ state: 'TASK_FINISHED' });
    expect(fs.readFileSync(path.join(view.sandbox, 'stdout'), 'utf8')).toBe('inside\nnobody\nnobody\n');
    // What the fetch wrote belongs to the task's user: it ran as that user.
    expect(fs.statSync(path.join(view.sandbox, 'app', 'run.sh')).uid).toBe(65534);
    expect(fs.readdirSync(view.sandbox).filter((n) => n.startsWith('.tessera'))).toEqual([]);
  });

  it('the fetch worker reads a local file with the task user\'s permissions: the kernel refuses what nobody may not read', async () => {
    const sandbox = tempDir();
    fs.chownSync(sandbox, 65534, 65534);
    const r = await runFetchWorker({ sandbox, uris: [{ kind: 'file', source: victim, dest: 'copy' }], timeoutMs: 1000, path: process.env.PATH ?? '', user: { name: 'nobody', uid: 65534, gid: 65534, groups: [65534] } });
    expect(r).toEqual({ ok: false, index: 0, message: `user "nobody" may not read ${victim} (permission denied): the fetcher reads local files as the task's user, as Mesos runs it as that user` });
    expect(fs.existsSync(path.join(sandbox, 'copy'))).toBe(false);
    fs.rmSync(sandbox, { recursive: true, force: true });
  });

  it('a local URI swapped between a public file and a root-only one never hands nobody the root-only one', async () => {
    const r = rig();
    const pub = path.join(archives, 'public.txt');
    fs.writeFileSync(pub, 'public\n', { mode: 0o644 });
    const link = path.join(archives, 'swap.txt');
    fs.symlinkSync(pub, link);
    // Flips the link between the two files as fast as it can (a task of another framework could).
    const swapper = spawn('python3', ['-c', `import os, sys
link, a, b, tmp = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[1] + '.tmp'
while True:
    for t in (b, a):
        try: os.remove(tmp)
        except FileNotFoundError: pass
        os.symlink(t, tmp); os.rename(tmp, link)
`, link, pub, victim], { stdio: 'ignore' });
    try {
      let leaked = 0;
      for (let i = 0; i < 24; i++) {
        try {
          const view = await r.launch(task(`swap-${i}`, { value: 'true', uris: [{ value: link, output_file: 'got.txt' }], user: 'nobody' }));
          await r.c.wait(view.containerId);
          if (fs.readFileSync(path.join(view.sandbox, 'got.txt'), 'utf8').includes('root only')) leaked++;
        } catch (err) {
          expect((err as LaunchError).failure.message).toMatch(/user "nobody" may not read/);
        }
      }
      expect(leaked).toBe(0);
    } finally {
      swapper.kill('SIGKILL');
    }
    victimUntouched();
  }, 60_000);
});
