// No module process outlives its core, even when the core is SIGKILLed and gets no chance to clean up.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI, alive, fixture, waitFor, writeModulesJson } from './helpers';

async function startCore(): Promise<{ core: number; modules: Record<string, number>; kill: (s: NodeJS.Signals) => void }> {
  const file = writeModulesJson({
    modules: [
      { name: 'echo', file: fixture('echo-isolator') },
      { name: 'labels', file: fixture('label-hook') },
    ],
  });
  const child = spawn(process.execPath, [CLI, '--log_level=error', 'modules', 'run', file, '--print-pids'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`core exited early with ${code}`)));
  });
  return { ...(JSON.parse(line) as { core: number; modules: Record<string, number> }), kill: (s) => child.kill(s) };
}

describe('module processes die with their core', () => {
  it('after SIGKILL of the core, no module process survives', async () => {
    const { core, modules, kill } = await startCore();
    const pids = Object.values(modules);
    expect(pids).toHaveLength(2);
    expect(pids.every(alive)).toBe(true);
    kill('SIGKILL');
    await waitFor(() => !alive(core), 5000, 'core gone');
    await waitFor(() => pids.every((p) => !alive(p)), 5000, `module pids ${pids.join(', ')} gone`);
  });

  it('after SIGTERM of the core, modules are shut down gracefully', async () => {
    const { modules, kill } = await startCore();
    kill('SIGTERM');
    await waitFor(() => Object.values(modules).every((p) => !alive(p)), 8000, 'modules gone');
  });
});
