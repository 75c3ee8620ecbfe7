// tessera-conformance: argument errors (through main(), as the brief of a CLI test should be fast),
// the reports it writes for real modules, and the bundled CLI run the way npm's bin link runs it.
import { spawnSync } from 'node:child_process';
import { ABI_VERSION } from '../version';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { main, splitCommand, USAGE, type CliIo } from './cli';
import { bundleFixture } from './fixtures/bundle';

let dir: string;
let good: string;
let sloppy: string;
let brokenAllocator: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-conformance-cli-'));
  good = bundleFixture('good-isolator', dir);
  sloppy = bundleFixture('sloppy-isolator', dir);
  brokenAllocator = bundleFixture('broken-allocator', dir);
  bundleFixture('good-hook', dir); // run by its file name, relative to dir
  fs.writeFileSync(path.join(dir, 'plain-file'), 'not a program\n');
  fs.mkdirSync(path.join(dir, 'empty-dir'));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) };
  const code = await main(argv, io, dir);
  return { code, stdout, stderr };
}

describe('tessera-conformance arguments', () => {
  const cases: [string, string[], string | RegExp][] = [
    ['no --kind', ['good-isolator.js'], '--kind is required: the kind the module implements, e.g. --kind isolator'],
    ['an unknown kind', ['--kind', 'gpu', 'good-isolator.js'], /unknown kind "gpu": the kinds of ABI v1 are isolator, containerizer, .*; kind-specific checks exist for isolator, allocator$/],
    ['no module', ['--kind', 'isolator'], '<module> is missing: give the built module file, --command "<program> [args...]" or -- <program> [args...]'],
    ['a missing file', ['--kind', 'isolator', 'nope.js'], /<module>: no such file ".*nope\.js": give the path of the built module/],
    ['a directory without tessera.module', ['--kind', 'isolator', 'empty-dir'], /"[^"]*empty-dir" is a directory without a package.json naming "tessera"/],
    ['a file that is not executable', ['--kind', 'isolator', 'plain-file'], /"[^"]*plain-file" is not executable: chmod \+x it, or give a \.js file/],
    ['two modules', ['--kind', 'isolator', 'good-isolator.js', 'sloppy-isolator.js'], /give the module once: .* \(got "good-isolator.js", "sloppy-isolator.js"\)/],
    ['a path and --command', ['--kind', 'isolator', 'good-isolator.js', '--command', 'node x.js'], /give the module once/],
    ['-- without a program', ['--kind', 'isolator', '--'], '-- must be followed by the program to run and its arguments'],
    ['an empty --command', ['--kind', 'isolator', '--command', '  '], /--command is empty/],
    ['an unbalanced quote', ['--kind', 'isolator', '--command', 'node "x.js'], /--command: unbalanced " in/],
    ['parameters that are not JSON', ['--kind', 'isolator', '--parameters', '{limit: 3}', 'good-isolator.js'], /--parameters: not valid JSON \(.*\): give an object such as/],
    ['parameters that are not an object', ['--kind', 'isolator', '--parameters', '[1]', 'good-isolator.js'], '--parameters: must be a JSON object, as "parameters" of a modules.json entry, not an array'],
    ['a missing parameters file', ['--kind', 'isolator', '--parameters-file', 'p.json', 'good-isolator.js'], /--parameters-file ".*p\.json": cannot read it: ENOENT/],
    ['both parameter options', ['--kind', 'isolator', '--parameters', '{}', '--parameters-file', 'p.json', 'good-isolator.js'], 'give --parameters or --parameters-file, not both'],
    ['a timeout with a unit', ['--kind', 'isolator', '--timeout', '5s', 'good-isolator.js'], '--timeout: "5s" is not a number of milliseconds; e.g. --timeout 20000'],
    ['a zero timeout', ['--kind=isolator', '--timeout=0', 'good-isolator.js'], '--timeout: "0" is not a number of milliseconds'],
    ['an option without its value', ['--kind', 'isolator', 'good-isolator.js', '--timeout'], '--timeout needs a value'],
    ['an option followed by another', ['--kind', '--json', 'good-isolator.js'], '--kind needs a value'],
    ['an unknown option', ['--kind', 'isolator', '--verbose', 'good-isolator.js'], 'unknown option --verbose'],
    ['an option given twice', ['--kind', 'isolator', '--kind', 'isolator', 'good-isolator.js'], '--kind is given twice'],
    ['a JUnit file in a missing directory', ['--kind', 'isolator', '--junit', 'no/such/dir/j.xml', 'good-isolator.js'], /--junit: directory ".*no\/such\/dir" does not exist/],
  ];

  it.each(cases)('refuses %s with exit 2, a message naming the argument and the usage', async (_what, argv, message) => {
    const { code, stdout, stderr } = await run(argv);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    const [first, ...rest] = stderr.split('\n');
    expect(first.startsWith('tessera-conformance: ')).toBe(true);
    if (typeof message === 'string') expect(first).toContain(message);
    else expect(first).toMatch(message);
    expect(rest.join('\n')).toBe(`${USAGE}\n`);
  });

  it('prints the usage for --help and exits 0', async () => {
    expect(await run(['--help'])).toEqual({ code: 0, stdout: `${USAGE}\n`, stderr: '' });
  });

  it('splits --command like a shell: quotes group, backslashes escape', () => {
    expect(splitCommand(`node  "/a b/c.js" --x='1 2' d\\ e ""`)).toEqual(['node', '/a b/c.js', '--x=1 2', 'd e', '']);
  });
});

describe('tessera-conformance reports', () => {
  it('exits 1 for a module that fails checks, with a JSON report and a JUnit file', async () => {
    const junit = path.join(dir, 'sloppy.xml');
    const { code, stdout, stderr } = await run(['--kind', 'isolator', '--json', '--junit', 'sloppy.xml', 'sloppy-isolator.js']);
    expect(stderr).toBe('');
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ kind: 'isolator', ok: false, summary: { passed: 5, failed: 3, skipped: 6, total: 14 } });
    expect(report.module).toMatchObject({ command: process.execPath, args: [sloppy], name: 'sloppy-isolator' });
    const xml = fs.readFileSync(junit, 'utf8');
    expect(xml).toMatch(/<testsuite name="isolator conformance: sloppy-isolator" tests="14" failures="3" errors="0" skipped="6"/);
    expect(xml.match(/<testcase /g)).toHaveLength(14);
    expect(xml).toContain('<failure message="prepare without container_id must be refused with a coded error, but it succeeded: validate the request and throw new TesseraError(&apos;TSR_INVALID_ARGUMENT&apos;');
  });

  it('checks an allocator with --kind allocator: exit 1 and the failed check named in JSON and JUnit', async () => {
    const { code, stdout, stderr } = await run(['--kind', 'allocator', '--json', '--junit', 'alloc.xml', '--', process.execPath, brokenAllocator, '--bug=forget-outstanding']);
    expect(stderr).toBe('');
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ kind: 'allocator', ok: false, summary: { passed: 19, failed: 1, skipped: 0, total: 20 } });
    expect(report.results.filter((r: { status: string }) => r.status === 'fail').map((r: { id: string }) => r.id)).toEqual(['restart-snapshot-outstanding']);
    const xml = fs.readFileSync(path.join(dir, 'alloc.xml'), 'utf8');
    expect(xml).toMatch(/<testsuite name="allocator conformance: broken-allocator" tests="20" failures="1" errors="0" skipped="0"/);
    expect(xml).toContain('classname="tessera-conformance.allocator" name="restart-snapshot-outstanding: ');
  });

  it('exits 0 for a package dir whose tessera.module passes, printing each check as text', async () => {
    const pkg = path.join(dir, 'my-isolator');
    fs.mkdirSync(path.join(pkg, 'dist'), { recursive: true });
    fs.copyFileSync(good, path.join(pkg, 'dist', 'module.js'));
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'my-isolator', tessera: { module: 'dist/module.js', kinds: ['isolator'] } }));
    const { code, stdout, stderr } = await run(['--kind', 'isolator', '--timeout', '20000', 'my-isolator']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`tessera-conformance (ABI ${ABI_VERSION}) --kind isolator: ${process.execPath} ${path.join(pkg, 'dist', 'module.js')}`);
    expect(stdout).toMatch(/^PASS {2}lifecycle: prepare → isolate → cleanup/m);
    expect(stdout).toMatch(/^SKIP {2}watch: .*\n {6}capability "watch" not advertised$/m);
    expect(lines[lines.length - 1]).toMatch(/^14 checks: 10 passed, 0 failed, 4 skipped in \d+ ms — good-isolator 1\.0\.0 conforms to the isolator ABI$/);
  });

  it('runs the common checks for a kind without kind-specific checks, exiting 0 when they pass and 1 when one fails', async () => {
    const ok = await run(['--kind', 'hook', 'good-hook.js']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^PASS {2}start: .*\n(.*\n)*PASS {2}get-info: .*\n(.*\n)*PASS {2}token: /m);
    expect(ok.stdout).toMatch(/^SKIP {2}kind-checks: the hook-specific checks .*\n {6}not covered: this kit \(covered: isolator, allocator\) has no hook-specific checks yet/m);
    expect(ok.stdout.trimEnd().split('\n').pop()).toMatch(/^4 checks: 3 passed, 0 failed, 1 skipped in \d+ ms — good-hook 1\.0\.0 passes the common checks; its hook-specific behaviour is not checked by this kit yet$/);

    const bad = await run(['--kind', 'hook', '--parameters', '{"limit": 0}', 'good-hook.js']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('--parameters/limit (parameter "limit"): must be >= 1');
  });

  it('passes --parameters to Configure: a module without a schema refuses them, failing the start', async () => {
    const { code, stdout } = await run(['--kind', 'isolator', '--parameters', '{"limit": 3}', '--command', `"${process.execPath}" ${good}`]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^FAIL {2}start: .*\n {6}TSR_PARAMETERS_INVALID: .*takes no parameters, but modules.json gives limit\. The kit checks what --parameters or --parameters-file give/m);
  });

  it('runs as the bundled bin (npm link layout) and exits when done', () => {
    const cli = path.join(dir, 'pkg');
    buildSync({
      entryPoints: [path.join(__dirname, 'cli.ts')],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      outfile: path.join(cli, 'dist', 'conformance-cli.js'),
      logLevel: 'warning',
    });
    fs.mkdirSync(path.join(cli, 'bin'));
    fs.copyFileSync(path.join(__dirname, '../../bin/tessera-conformance.js'), path.join(cli, 'bin', 'tessera-conformance.js'));
    const bin = path.join(cli, 'bin', 'tessera-conformance.js');

    const ok = spawnSync(process.execPath, [bin, '--kind', 'isolator', '--', process.execPath, good, '--all'], { encoding: 'utf8', timeout: 60_000 });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/14 checks: 14 passed, 0 failed, 0 skipped/);

    const wrongKind = spawnSync(process.execPath, [bin, '--kind', 'detector', good], { encoding: 'utf8', timeout: 60_000 });
    expect(wrongKind.status).toBe(1);
    expect(wrongKind.stdout).toMatch(/^FAIL {2}start: .*\n {6}TSR_ABI_KIND_MISSING: /m);

    const bad = spawnSync(process.execPath, [bin, '--kind', 'gpu', good], { encoding: 'utf8', timeout: 60_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown kind "gpu"');
  });
});
