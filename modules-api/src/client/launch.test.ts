// Starting module processes as the core does: the handshake promise that a socket listens, and the
// module's process group, so stop and kill end what the module started (a shell wrapper's children).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleFixture } from '../conformance/fixtures/bundle';
import { launchModule } from './launch';
import { SUPPORTED_ABI, startModule } from './start';

let dir: string;
let isolator: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-launch-test-'));
  isolator = bundleFixture('good-isolator', dir);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// running tells whether a pid is a live process; a zombie (killed, not yet reaped by its new parent) is not.
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// A module as a shell wrapper: it starts a child that sleeps holding the wrapper's stdout and stderr,
// writes the child's pid to a file, and runs the real module without exec (so the shell stays the leader).
function wrapper(name: string): { script: string; pidFile: string } {
  const script = path.join(dir, `${name}.sh`);
  const pidFile = path.join(dir, `${name}.pid`);
  fs.writeFileSync(script, `#!/bin/sh\nsleep 300 &\necho $! > '${pidFile}'\n'${process.execPath}' '${isolator}'\n`, { mode: 0o755 });
  return { script, pidFile };
}

const core = { version: '0.0.0-test', abi: SUPPORTED_ABI };

describe('launchModule', () => {
  it('refuses a module that prints its handshake line but does not listen, saying to print it only after listening', async () => {
    const script = "process.stdout.write('tessera-module|1|unix|' + process.env.TESSERA_MODULE_SOCKET + '\\n'); setInterval(() => {}, 1000);";
    const started = launchModule({ name: 'deaf', command: process.execPath, args: ['-e', script], coreVersion: '0.0.0-test', startTimeoutMs: 5000 });
    await expect(started).rejects.toMatchObject({
      code: 'TSR_HANDSHAKE_NOT_LISTENING',
      message: expect.stringMatching(
        /^module deaf \(.*\) printed its handshake line, but nothing listens on \/\S+\/deaf-[0-9a-f]{8}\.sock \(connect: ENOENT\)\. A module must listen on the socket first and print "tessera-module\|1\|unix\|<socket>" only after listening\.$/,
      ),
    });
  });

  it('stops a shell-wrapped module together with the child it left holding its stdout', async () => {
    const { script, pidFile } = wrapper('wrapped-stop');
    const m = await startModule({ name: 'wrapped', command: script, args: [], core, startTimeoutMs: 10_000 });
    const sleeper = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(running(sleeper)).toBe(true);
    // 'close' comes once every holder of the module's stdout and stderr is gone: what `tessera modules check` waits for.
    const closed = new Promise<void>((resolve) => m.process.child.once('close', () => resolve()));

    await m.stop(1000);
    await until(`the wrapper's child ${sleeper} to end`, () => !running(sleeper));
    await expect(Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open'), 3000).unref())])).resolves.toBe('closed');
  });

  it("kills the module's whole process group, as the core does when it exits or a module fails its health checks", async () => {
    const { script, pidFile } = wrapper('wrapped-kill');
    const m = await startModule({ name: 'wrapped', command: script, args: [], core, startTimeoutMs: 10_000 });
    const sleeper = Number(fs.readFileSync(pidFile, 'utf8'));

    m.process.child.kill('SIGKILL'); // what ManagedModule.killNow does
    await m.process.exited;
    await until(`the wrapper's child ${sleeper} to end`, () => !running(sleeper));
    await m.stop();
  });
});
