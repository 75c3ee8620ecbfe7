// The two ways container processes start, with real processes: the bash fork server and the POSIX sh
// shim spawned by the agent. Both hold the container before exec and must never run the command when
// the agent goes away while holding it; both record the command's status for a later agent.
import fs from 'node:fs';
import path from 'node:path';
import { bashQuote, ForkServer } from '../../core/src/agent/containerizer/fork-server';
import { installShim, readStatus, spawnHeld, type HeldProcess } from '../../core/src/agent/containerizer/launcher';
import { readStat } from '../../core/src/agent/containerizer/proc';
import { captureLog, tempDir, waitFor } from '../modules/helpers';
import { remember, killLeftovers, running } from './containerizer-helpers';

afterAll(() => killLeftovers());

function dirs(): { runtime: string; container: string; sandbox: string } {
  const root = tempDir();
  const container = path.join(root, 'run', 'containers', 'c1');
  const sandbox = path.join(root, 'sandbox');
  fs.mkdirSync(container, { recursive: true });
  fs.mkdirSync(sandbox);
  return { runtime: path.join(root, 'run'), container, sandbox };
}

const spec = (d: ReturnType<typeof dirs>, argv: string[]) => ({
  shim: installShim(d.runtime),
  containerDir: d.container,
  argv,
  env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  cwd: d.sandbox,
  stdout: path.join(d.sandbox, 'stdout'),
  stderr: path.join(d.sandbox, 'stderr'),
});

describe('fork server', () => {
  it('starts a held shim in its own process group, runs the command on release, and reports the exit', async () => {
    const d = dirs();
    const exits: [string, number][] = [];
    const server = new ForkServer(d.runtime, captureLog().log, (id, code) => exits.push([id, code]));
    const held = await server.spawn({ ...spec(d, ['/bin/sh', '-c', 'echo "$0 $PWD"; exit 7']), id: 'c1' });
    remember(held.pid);
    await waitFor(() => readStat(held.pid)?.state === 'T', 10_000, 'the shim to stop itself');
    expect(readStat(held.pid)?.pgrp).toBe(held.pid);
    expect(fs.existsSync(path.join(d.sandbox, 'stdout'))).toBe(false); // held: nothing ran yet (the shim opens stdio once released)
    await held.release();
    await waitFor(() => exits.length === 1, 10_000, 'the exit report');
    expect(exits).toEqual([['c1', 7]]);
    expect(readStatus(d.container)).toEqual({ kind: 'exit', code: 7 });
    expect(fs.readFileSync(path.join(d.sandbox, 'stdout'), 'utf8')).toBe(`/bin/sh ${d.sandbox}\n`);
    server.close();
  });

  it('passes any bytes through argv and the environment', async () => {
    const d = dirs();
    const server = new ForkServer(d.runtime, captureLog().log, () => undefined);
    const weird = ["it's", 'a "quoted" $(word) `x` \\ ; | &', 'two\nlines', 'ünïcödé ✓', '', '\t-tab', '$HOME'];
    const held = await server.spawn({
      ...spec(d, ['/usr/bin/printf', '[%s]\n', ...weird]),
      env: { PATH: '/usr/bin:/bin', ODD: "v'a\"l\nue $x" },
      id: 'c1',
    });
    remember(held.pid);
    await held.release();
    await waitFor(() => readStatus(d.container), 10_000, 'the status');
    expect(fs.readFileSync(path.join(d.sandbox, 'stdout'), 'utf8')).toBe(weird.map((w) => `[${w}]\n`).join(''));
    expect(bashQuote("a'b\n")).toBe("$'a\\x27b\\x0a'");
    server.close();
  });

  it('never runs the command when the agent goes away while the container is held', async () => {
    const d = dirs();
    const server = new ForkServer(d.runtime, captureLog().log, () => undefined);
    const held = await server.spawn({ ...spec(d, ['/bin/sh', '-c', 'touch ran']), id: 'c1' });
    remember(held.pid);
    await waitFor(() => readStat(held.pid)?.state === 'T', 10_000, 'the shim to stop itself');
    server.close(); // the server exits: the stopped shim's process group is orphaned -> SIGHUP + SIGCONT
    await waitFor(() => !running(held.pid), 10_000, 'the held shim to die');
    await new Promise((r) => setTimeout(r, 200));
    expect(fs.existsSync(path.join(d.sandbox, 'ran'))).toBe(false);
    expect(readStatus(d.container)).toBeUndefined();
  });
});

describe('direct POSIX shim', () => {
  let held: HeldProcess | undefined;
  afterEach(() => {
    if (held) remember(held.pid);
  });

  it('holds until released, then records the status', async () => {
    const d = dirs();
    held = await spawnHeld(spec(d, ['/bin/sh', '-c', 'exit 3']));
    await new Promise((r) => setTimeout(r, 100));
    expect(running(held.pid)).toBe(true);
    expect(readStat(held.pid)?.session).toBe(held.pid); // its own session and group
    await held.release();
    expect(await held.exited).toEqual({ code: 3, signal: null });
    expect(readStatus(d.container)).toEqual({ kind: 'exit', code: 3 });
  });

  it('never runs the command when the hold pipe closes before the release', async () => {
    const d = dirs();
    held = await spawnHeld(spec(d, ['/bin/sh', '-c', 'touch ran']));
    held.child!.stdin!.destroy(); // what the agent's death does to the pipe
    expect(await held.exited).toEqual({ code: 125, signal: null });
    expect(readStatus(d.container)).toEqual({ kind: 'aborted' });
    expect(fs.existsSync(path.join(d.sandbox, 'ran'))).toBe(false);
  });
});
