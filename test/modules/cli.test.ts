// `tessera modules check` for operators: the table, and each bad input with its message and exit status.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { main } from '../../core/src/cli';
import { CLI, COMPAT_BUILDS, fixture, tempDir, writeModulesJson } from './helpers';

async function run(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(['--log_level=error', ...args], (s) => (out += s));
  return { code, out };
}

const check = (content: object | string): Promise<{ code: number; out: string }> => run(['modules', 'check', writeModulesJson(content)]);

describe('tessera modules check', () => {
  it('prints the table and exits 0 when every module is usable (the real binary)', () => {
    const file = writeModulesJson({
      modules: [
        { name: 'echo', file: fixture('echo-isolator'), parameters: { greeting: 'hi' } },
        { name: 'labels', file: fixture('label-hook') },
        { name: 'old', file: path.join(COMPAT_BUILDS, 'isolator-abi-1.0.0.js') },
      ],
    });
    const res = spawnSync(process.execPath, [CLI, 'modules', 'check', file], { encoding: 'utf8', timeout: 30_000 });
    expect(res.status).toBe(0);
    const lines = res.stdout.split('\n');
    expect(lines[1].split(/\s{2,}/)).toEqual(['MODULE', 'KIND', 'VERSION', 'BUILT AGAINST', 'NEGOTIATED', 'CAPABILITIES', 'STATUS']);
    expect(lines[2].split(/\s{2,}/)).toEqual(['echo', 'isolator', '1.2.3', '1.1.0', '1.1.0', 'recover,isolate,watch,usage,status,supports_nesting', 'ok']);
    expect(lines[3].split(/\s{2,}/)).toEqual(['labels', 'hook', '0.3.0', '1.1.0', '1.1.0', 'master_launch_task_label_decorator', 'ok']);
    expect(lines[4].split(/\s{2,}/)).toEqual(['old', 'isolator', '1.0.0', '1.0.0', '1.0.0', 'isolate,usage', 'ok']);
    expect(res.stdout).toContain('all 3 module(s) usable');
  });

  it('malformed JSON: line and column, exit 1', async () => {
    const res = await check('{"modules": [\n  {"name": "a", "file": "a.js",}\n]}');
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/error TSR_MODULES_JSON_SYNTAX: .*modules\.json:2:32: invalid JSON: expected a property name in double quotes/);
  });

  it('unknown field and wrong type: JSON path, exit 1', async () => {
    const unknown = await check({ modules: [{ name: 'a', file: 'a.js', timeout: { call: '1s' } }] });
    expect(unknown.code).toBe(1);
    expect(unknown.out).toMatch(/TSR_MODULES_JSON_INVALID: .*modules\.json:\d+:\d+ \/modules\/0\/timeout: unknown field "timeout" \(did you mean "timeouts"\?\)/s);
    const wrongType = await check({ modules: [{ name: 'a', file: 'a.js', parameters: 'x=1' }] });
    expect(wrongType.code).toBe(1);
    expect(wrongType.out).toMatch(/\/modules\/0\/parameters: must be object/);
  });

  it('two modules with one name, exit 1', async () => {
    const res = await check({ modules: [{ name: 'a', file: 'a.js' }, { name: 'a', file: 'b.js' }] });
    expect(res.code).toBe(1);
    expect(res.out).toContain('TSR_MODULES_JSON_DUPLICATE_NAME');
    expect(res.out).toContain('/modules/1/name: module name "a" is already used by /modules/0');
  });

  it('parameters failing the module schema: JSON path inside the entry, exit 1', async () => {
    const res = await check({ modules: [{ name: 'echo', file: fixture('echo-isolator'), parameters: { mode: 'loose' } }] });
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/echo\s+-\s+-\s+-\s+-\s+-\s+FAILED TSR_PARAMETERS_INVALID/);
    expect(res.out).toMatch(/modules\.json:\d+:\d+ \/modules\/0\/parameters\/mode: must be one of "strict", "lenient"/);
  });

  it('package not found and command not executable, exit 1', async () => {
    const pkg = await check({ modules: [{ name: 'gpu', package: '@tessera/isolator-nope' }] });
    expect(pkg.code).toBe(1);
    expect(pkg.out).toContain('TSR_MODULE_PACKAGE_NOT_FOUND');
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'hook.py'), 'print(1)\n');
    const file = path.join(dir, 'modules.json');
    fs.writeFileSync(file, JSON.stringify({ modules: [{ name: 'hook', command: ['./hook.py'] }] }));
    const cmd = await run(['modules', 'check', file]);
    expect(cmd.code).toBe(1);
    expect(cmd.out).toContain(`TSR_MODULE_COMMAND_NOT_EXECUTABLE: ${file}:1:28 /modules/0/command: command "./hook.py" (${dir}/hook.py) is not executable`);
  });

  it('garbage before the handshake, no handshake, crash in GetInfo/Configure: each named, exit 1', async () => {
    const res = await check({
      modules: [
        { name: 'noisy', file: fixture('garbage') },
        { name: 'mute', file: fixture('silent'), timeouts: { start: '700ms' } },
        { name: 'boom', file: fixture('crash-getinfo') },
        { name: 'bang', file: fixture('crash-configure') },
      ],
    });
    expect(res.code).toBe(1);
    expect(res.out).toContain('noisy: TSR_HANDSHAKE_GARBAGE: module noisy');
    expect(res.out).toContain('"Starting my module v2...\\nDEBUG config loaded"');
    expect(res.out).toContain('mute: TSR_HANDSHAKE_TIMEOUT: module mute');
    expect(res.out).toContain('boom: TSR_MODULE_EXITED: module boom exited (code 3) during GetInfo/Configure; stderr: panic: schema table corrupted');
    expect(res.out).toContain('bang: TSR_MODULE_EXITED: module bang exited (code 4)');
    expect(res.out).toContain('4 module(s) not usable');
  });

  it('no ABI overlap: names module, kind, both ranges and what to upgrade, exit 1', async () => {
    const res = await check({ modules: [{ name: 'future', file: path.join(COMPAT_BUILDS, 'isolator-abi-2.0.0.js') }] });
    expect(res.code).toBe(1);
    expect(res.out).toContain(
      'future: TSR_ABI_NO_OVERLAP: module future (compat-isolator 2.0.0) was built for isolator ABI 2.0.0 and accepts ^2.0.0, ' +
        'but this core (0.1.0) supports isolator ABI 1.0–1.1: upgrade to a core release that supports isolator ABI 2.0, ' +
        'or use a release of compat-isolator built for isolator ABI 1.0–1.1 (this build needs isolator ABI 2.0 or a later 2.x)',
    );
  });

  it('a missing file and bad usage', async () => {
    const missing = await run(['modules', 'check', '/nonexistent/modules.json']);
    expect(missing).toEqual({ code: 1, out: 'error TSR_MODULES_JSON_READ: cannot read modules file /nonexistent/modules.json: no such file\n' });
    expect((await run(['modules', 'check'])).code).toBe(2);
    // Usage errors go to stderr.
    let err = '';
    expect(await main(['frobnicate'], () => undefined, (s) => void (err += s))).toBe(2);
    expect(err).toContain('unknown command "frobnicate"');
    expect(await main(['--log_level=loud'], () => undefined, () => undefined)).toBe(2);
    expect((await run(['modules', 'check', '/nonexistent/modules.json', '--bogus'])).out).toContain('error TSR_FLAG_INVALID: unknown option --bogus');
  });
});
