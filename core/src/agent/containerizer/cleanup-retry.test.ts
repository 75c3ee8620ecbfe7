import { createLog } from '../../log';
import { CleanupRetries } from './cleanup-retry';
import type { Isolator } from './isolators';

const lines: string[] = [];
const log = createLog({ level: 'debug', write: (line) => void lines.push(line) });

/** An isolator whose Cleanup fails `failures` times, then succeeds. */
function flaky(failures: number): Isolator & { calls: number } {
  const iso = {
    name: 'dvdi',
    calls: 0,
    async cleanup(): Promise<void> {
      iso.calls++;
      if (iso.calls <= failures) throw new Error('volume driver "local" is down');
    },
  };
  return iso as unknown as Isolator & { calls: number };
}

const until = async (cond: () => boolean, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('CleanupRetries', () => {
  beforeEach(() => void lines.splice(0));

  it('retries a failed cleanup with backoff until it succeeds, saying so', async () => {
    const retries = new CleanupRetries(log, 10, 40);
    const iso = flaky(3);
    await retries.cleanup(iso, 'c1'); // the first attempt fails and is not thrown
    expect(iso.calls).toBe(1);
    expect(retries.pending).toBe(1);
    await until(() => iso.calls === 4 && retries.pending === 0);
    expect(lines.filter((l) => l.includes('failed (attempt')).length).toBe(3);
    expect(lines.some((l) => l.includes('cleanup of container c1 on isolator dvdi succeeded at attempt 4'))).toBe(true);
    retries.close();
  });

  it('stops retrying when closed (the next Recover releases it)', async () => {
    const retries = new CleanupRetries(log, 10, 40);
    const iso = flaky(100);
    await retries.cleanup(iso, 'c2');
    retries.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(iso.calls).toBe(1);
    expect(retries.pending).toBe(0);
  });
});
