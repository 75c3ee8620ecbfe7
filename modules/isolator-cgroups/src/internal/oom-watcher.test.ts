import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OomWatcher } from './oom-watcher';

describe('OomWatcher', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-oom-'));
  const watcher = new OomWatcher(10);
  afterAll(() => {
    watcher.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const file = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };

  it('fires once the oom_kill counter rises (v1 oom_control and v2 memory.events)', async () => {
    const v1 = file('v1', 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n');
    const v2 = file('v2', 'low 0\nhigh 0\nmax 3\noom 0\noom_kill 0\n');
    const a = watcher.wait('a', v1, new AbortController().signal);
    const b = watcher.wait('b', v2, new AbortController().signal);
    await new Promise((r) => setTimeout(r, 50));
    expect(watcher.watching).toBe(2);
    fs.writeFileSync(v1, 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
    fs.writeFileSync(v2, 'low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\n');
    expect(await a).toBe(1);
    expect(await b).toBe(2);
    expect(watcher.watching).toBe(0);
  });

  it('fires at once for a kill that happened before anyone watched', async () => {
    expect(await watcher.wait('c', file('c', 'oom_kill 3\n'), new AbortController().signal)).toBe(3);
  });

  it('ends with undefined when aborted or forgotten, and keeps polling a file that is not there yet', async () => {
    const ac = new AbortController();
    const aborted = watcher.wait('d', file('d', 'oom_kill 0\n'), ac.signal);
    ac.abort();
    expect(await aborted).toBeUndefined();
    const later = path.join(dir, 'later');
    const forgotten = watcher.wait('e', later, new AbortController().signal);
    await new Promise((r) => setTimeout(r, 30));
    watcher.forget('e');
    expect(await forgotten).toBeUndefined();
    const appears = watcher.wait('f', path.join(dir, 'f'), new AbortController().signal);
    await new Promise((r) => setTimeout(r, 30));
    file('f', 'oom_kill 1\n');
    expect(await appears).toBe(1);
    expect(watcher.watching).toBe(0);
  });
});
