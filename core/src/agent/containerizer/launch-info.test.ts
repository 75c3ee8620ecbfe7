import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { envNameProblem, onPath, planProcess, validateCommand, type PlanInput } from './launch-info';
import { LaunchError } from './errors';
import { outputName, sandboxPath } from './fetcher';
import type { TaskInfo } from '../../master/model/mesos';

/** canMount: mount namespaces need root and util-linux's unshare (tests that need them return early otherwise). */
const canMount = process.getuid?.() === 0 && onPath('unshare');
if (!canMount) console.warn('launch-info mount namespace tests are skipped: they need root and unshare');

const task = (command: TaskInfo['command']): TaskInfo => ({ name: 't', task_id: { value: 't1' }, agent_id: { value: 'a1' }, command });
const input = (over: Partial<PlanInput> = {}): PlanInput => ({
  containerId: 'c1',
  frameworkId: 'fw1',
  executorId: 't1',
  task: task({ value: 'echo hi' }),
  sandbox: '/sb',
  launchInfos: [],
  path: '/bin',
  ...over,
});

function failure(f: () => unknown): LaunchError['failure'] {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(LaunchError);
    return (err as LaunchError).failure;
  }
  throw new Error('expected a LaunchError');
}

describe('process plan', () => {
  it('runs shell commands through /bin/sh -c with the Mesos environment', () => {
    const plan = planProcess(input());
    expect(plan.argv).toEqual(['/bin/sh', '-c', 'echo hi']);
    expect(plan.cwd).toBe('/sb');
    expect(plan.env).toEqual({
      PATH: '/bin',
      MESOS_SANDBOX: '/sb',
      MESOS_DIRECTORY: '/sb',
      MESOS_TASK_ID: 't1',
      MESOS_EXECUTOR_ID: 't1',
      MESOS_FRAMEWORK_ID: 'fw1',
      MESOS_CONTAINER_NAME: 'mesos-c1',
      MESOS_CONTAINER_ID: 'c1',
      MESOS_AGENT_ID: 'a1',
      MESOS_SLAVE_ID: 'a1',
    });
  });

  it('runs argv commands as value plus arguments[1..]', () => {
    expect(planProcess(input({ task: task({ shell: false, value: '/bin/ls', arguments: ['ls', '-l', '/'] }) })).argv).toEqual(['/bin/ls', '-l', '/']);
    expect(planProcess(input({ task: task({ shell: false, value: '/bin/true' }) })).argv).toEqual(['/bin/true']);
  });

  it('layers the environment: base < isolators < CommandInfo < isolators task environment', () => {
    const plan = planProcess(
      input({
        task: task({ value: 'x', environment: { variables: [{ name: 'A', value: 'cmd' }, { name: 'B', value: 'cmd' }, { name: 'S', type: 'SECRET' }] } }),
        launchInfos: [
          { isolator: 'one', info: { environment: { variables: [{ name: 'A', value: 'iso' }, { name: 'C', value: 'iso' }, { name: 'PATH', value: '/opt/bin' }] } } },
          { isolator: 'two', info: { taskEnvironment: { variables: [{ name: 'B', value: 'task-env' }] } } },
        ],
      }),
    );
    expect(plan.env).toMatchObject({ A: 'cmd', B: 'task-env', C: 'iso', PATH: '/opt/bin' });
    expect(plan.env.S).toBeUndefined();
  });

  it('passes any environment name through (around the shell, with env) and refuses only names with = or NUL', () => {
    const plan = planProcess(input({ path: process.env.PATH, task: task({ shell: false, value: 'printenv', environment: { variables: [{ name: 'spring.profiles', value: 'dev' }, { name: 'APP-VERSION', value: '1.2' }, { name: '1X', value: 'x' }, { name: 'OK', value: 'yes' }] } }) }));
    expect(plan.env).toMatchObject({ OK: 'yes' });
    expect(plan.env['spring.profiles']).toBeUndefined();
    expect(plan.argv).toEqual([expect.stringMatching(/\/env$/), '--', 'spring.profiles=dev', 'APP-VERSION=1.2', '1X=x', 'printenv']);
    // Through a POSIX shell (dash drops such names from its environment), as the shim runs it: they arrive.
    const out = spawnSync('/bin/sh', ['-c', 'exec "$@"', 'sh', ...plan.argv], { env: plan.env, encoding: 'utf8' }).stdout;
    expect(out).toMatch(/^spring\.profiles=dev$/m);
    expect(out).toMatch(/^APP-VERSION=1\.2$/m);
    expect(out).toMatch(/^OK=yes$/m);
    const bad = failure(() => planProcess(input({ task: task({ value: 'x', environment: { variables: [{ name: 'A=B', value: '1' }] } }) })));
    expect(bad).toEqual({ state: 'TASK_ERROR', reason: 'REASON_TASK_INVALID', message: expect.stringContaining(`environment variable name "A=B" cannot be in an environment: it contains '='`) });
    const iso = failure(() => planProcess(input({ launchInfos: [{ isolator: 'gpu', info: { environment: { variables: [{ name: 'X\0Y', value: '' }] } } }] })));
    expect(iso).toMatchObject({ state: 'TASK_FAILED', message: expect.stringMatching(/^isolator module gpu: environment variable name "X\\u0000Y" cannot be in an environment: it contains a NUL byte/) });
    expect(envNameProblem('spring.profiles')).toBeUndefined();
    expect(envNameProblem('A=B')).toMatch(/contains '='/);
  });

  it('lets one isolator replace the command and set the working directory, not two', () => {
    const plan = planProcess(input({ launchInfos: [{ isolator: 'wrap', info: { command: { value: 'wrapped', shell: true }, workingDirectory: 'work' } }] }));
    expect(plan.argv).toEqual(['/bin/sh', '-c', 'wrapped']);
    expect(plan.cwd).toBe('/sb/work');
    const two = failure(() =>
      planProcess(input({ launchInfos: [{ isolator: 'a', info: { command: { value: 'x' } } }, { isolator: 'b', info: { command: { value: 'y' } } }] })),
    );
    expect(two.message).toBe("isolators a and b both replace the container's command: at most one may");
  });

  it('refuses launch infos it cannot honour, naming the isolator', () => {
    for (const [field, value] of [
      ['rootfs', '/images/x'],
      ['cloneNamespaces', ['NEWPID']],
      ['rlimits', [{ type: 'NOFILE', soft: 10 }]],
      ['capabilities', ['NET_ADMIN']],
    ] as const) {
      const f = failure(() => planProcess(input({ launchInfos: [{ isolator: 'fancy', info: { [field]: value } }] })));
      expect(f).toEqual({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: expect.stringMatching(new RegExp(`^isolator module fancy: asks for .* \\(ContainerLaunchInfo.${field}\\)`)) });
    }
    // empty lists are no request at all; devices are accepted
    expect(planProcess(input({ launchInfos: [{ isolator: 'ok', info: { cloneNamespaces: [], devices: [{ path: '/dev/null' }] } }] })).argv[0]).toBe('/bin/sh');
  });

  it('refuses mounts that leave the sandbox or lack a type', () => {
    const rel = failure(() => planProcess(input({ launchInfos: [{ isolator: 'm', info: { mounts: [{ source: '/tmp', target: '../out', flags: ['bind'] }] } }] })));
    expect(rel.message).toMatch(/^isolator module m: mount \/tmp -> \.\.\/out: /);
    const typeless = failure(() => planProcess(input({ launchInfos: [{ isolator: 'm', info: { mounts: [{ source: '/tmp', target: 'x' }] } }] })));
    expect(typeless.message).toMatch(/needs a filesystem type or the bind\/rbind flag|root|unshare/);
  });

  it('gives a container its own mount namespace for NEWNS and refuses other namespaces, naming the isolator', () => {
    const pid = failure(() => planProcess(input({ launchInfos: [{ isolator: 'ns', info: { cloneNamespaces: ['NEWNS', 'NEWPID'] } }] })));
    expect(pid.message).toMatch(/^isolator module ns: asks for the NEWPID namespace \(ContainerLaunchInfo.cloneNamespaces\).*only NEWNS/);
    if (!canMount) return;
    const plan = planProcess(input({ path: process.env.PATH, launchInfos: [{ isolator: 'ns', info: { cloneNamespaces: ['NEWNS'] } }] }));
    expect(plan.newMountNamespace).toBe(true);
    expect(plan.argv.slice(0, 5)).toEqual(['unshare', '--mount', '--propagation', 'slave', '--']);
    expect(plan.argv.slice(-3)).toEqual(['/bin/sh', '-c', 'echo hi']);
  });

  it('refuses mount flags it does not know and bind mounts without an absolute source', () => {
    if (!canMount) return;
    const mount = (m: object) => failure(() => planProcess(input({ path: process.env.PATH, launchInfos: [{ isolator: 'm', info: { mounts: [m] } }] }))).message;
    expect(mount({ source: '/tmp', target: 'x', flags: ['rbind', 'shared'] })).toMatch(/unknown mount flag\(s\) shared/);
    expect(mount({ source: 'tmp', target: 'x', flags: ['bind'] })).toMatch(/must be an absolute path/);
    expect(mount({ source: '/nonexistent/tessera', target: 'x', flags: ['bind'] })).toMatch(/does not exist on the agent/);
  });

  it('performs rbind and read-only mounts in the container\'s namespace only, creating a missing absolute target there', () => {
    if (!canMount) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-mounts-'));
    try {
      const sandbox = path.join(dir, 'sandbox');
      const src = path.join(dir, 'src');
      fs.mkdirSync(sandbox);
      fs.mkdirSync(src);
      fs.writeFileSync(path.join(src, 'in.txt'), 'from the volume\n');
      const absolute = path.join(dir, 'not-yet', 'there');
      const script = [
        'cat rw/in.txt',
        `cat ${absolute}/in.txt`,
        'echo written > rw/out.txt && echo rw-ok',
        `if { echo x > ${absolute}/x; } 2>/dev/null; then echo ro-writable; else echo ro-refused; fi`,
        `grep -c " ${absolute} " /proc/self/mountinfo`,
      ].join('; ');
      const plan = planProcess(
        input({
          sandbox,
          path: process.env.PATH,
          task: task({ value: script }),
          launchInfos: [{ isolator: 'vol', info: { cloneNamespaces: ['NEWNS'], mounts: [{ source: src, target: 'rw', flags: ['rbind'] }, { source: src, target: absolute, flags: ['rbind', 'ro'] }] } }],
        }),
      );
      const r = spawnSync(plan.argv[0], plan.argv.slice(1), { cwd: plan.cwd, env: plan.env, encoding: 'utf8' });
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
      expect(r.stdout).toBe('from the volume\nfrom the volume\nrw-ok\nro-refused\n1\n');
      expect(fs.readFileSync(path.join(src, 'out.txt'), 'utf8')).toBe('written\n');
      // the targets exist (created in the namespace: mkdir is not namespaced), the mounts never reached the host
      expect(fs.readdirSync(absolute)).toEqual([]);
      expect(fs.readdirSync(path.join(sandbox, 'rw'))).toEqual([]);
      expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('validates the command', () => {
    expect(failure(() => validateCommand(task(undefined)))).toMatchObject({ state: 'TASK_ERROR', reason: 'REASON_TASK_INVALID' });
    expect(failure(() => validateCommand(task({ shell: false })))).toMatchObject({ state: 'TASK_ERROR' });
    expect(() => validateCommand(task({ shell: false, value: '', arguments: ['/bin/true'] }))).not.toThrow();
  });
});

describe('fetcher names', () => {
  it('names the output after output_file or the last path segment', () => {
    expect(outputName({ value: 'http://h/a/b/app.tar.gz?x=1' })).toBe('app.tar.gz');
    expect(outputName({ value: 'http://h/dir%20name/f%20g.txt' })).toBe('f g.txt');
    expect(outputName({ value: '/opt/x/y.zip' })).toBe('y.zip');
    expect(outputName({ value: 'http://h/x', output_file: 'sub/z' })).toBe('sub/z');
  });

  it('keeps every name inside the sandbox', () => {
    expect(sandboxPath('/sb', 'sub/z')).toBe('/sb/sub/z');
    for (const bad of ['../x', '/etc/passwd', 'a/../../x', '..', '', 'a\\..\\..\\x']) expect(() => sandboxPath('/sb', bad)).toThrow();
  });
});
