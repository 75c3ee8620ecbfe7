/**
 * The registry tests' shared setup: a fresh directory per test, and every registry a test opens closed
 * (once) after it, the directory removed.
 *
 * ```ts
 * const fixture = registryFixture('tessera-registry-quota-');
 * const r = fixture.open({ compactEvery: 4 });     // in a test
 * fs.readFileSync(path.join(fixture.dir, 'log.jsonl'));
 * ```
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLog, type Log } from '../log';
import { Registry } from './registry';

/** RegistryFixture is the current test's registry directory and a way to open registries in it. */
export interface RegistryFixture {
  /** The current test's directory. */
  readonly dir: string;
  /** open opens a registry in `dir` (closed after the test). */
  open(opts?: { compactEvery?: number; log?: Log }): Registry;
  /** closeAll closes the registries opened so far (a test that rewrites the files in between). */
  closeAll(): void;
}

/** registryFixture registers the beforeEach/afterEach hooks; call it at the top of a test file. */
export function registryFixture(prefix: string): RegistryFixture {
  const quiet = createLog({ level: 'error', write: () => undefined });
  const open: Registry[] = [];
  let dir = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  const closeAll = (): void => {
    for (const r of open.splice(0)) {
      try {
        r.close();
      } catch {
        // closed by the test
      }
    }
  };
  afterEach(() => {
    closeAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
    open(opts = {}) {
      const r = Registry.open({ dir, log: opts.log ?? quiet, compactEvery: opts.compactEvery });
      open.push(r);
      return r;
    },
    closeAll,
  };
}
