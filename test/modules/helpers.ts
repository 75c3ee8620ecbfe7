// Helpers for tests that run real module processes: temp modules.json files pointing at the fixture builds.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLog, type Log } from '../../core/src/log';

export const ROOT = path.resolve(__dirname, '../..');
export const FIXTURES = path.join(ROOT, 'test/fixtures/modules/build');
export const COMPAT_BUILDS = path.join(ROOT, 'test/compat/builds');
export const CLI = path.join(ROOT, 'core/bin/tessera.js');

/** fixture is the path of a built fixture module. */
export const fixture = (name: string): string => path.join(FIXTURES, `${name}.js`);

/** tempDir makes a directory removed by the caller. */
export const tempDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-test-'));

/** writeModulesJson writes a modules.json (object or raw text) into a new temp dir and returns its path. */
export function writeModulesJson(content: object | string): string {
  const dir = tempDir();
  const file = path.join(dir, 'modules.json');
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

/** captureLog is a logger whose lines are kept for assertions. */
export function captureLog(): { log: Log; lines: string[] } {
  const lines: string[] = [];
  return { log: createLog({ level: 'debug', write: (l) => void lines.push(l) }), lines };
}

/** waitFor polls until `check` returns a truthy value or the timeout passes. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** alive tells whether a pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** readCalls reads the JSON lines the echo-isolator fixture appends to $FIXTURE_LOG. */
export function readCalls(file: string): { call: string; pid: number; [k: string]: unknown }[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}
