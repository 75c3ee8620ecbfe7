// The SDK as a module author and an operator meet it: run by hand, health before and after Configure,
// calls before Configure, capabilities derived from handlers, and the in-process harness.
import { spawnSync } from 'node:child_process';
import {
  IsolatorClient,
  ModuleConnection,
  TesseraError,
  capabilitiesOf,
  launchModule,
  serveInProcess,
  validateDefinition,
} from '@tessera/modules-api';
import { fixture } from './helpers';

describe('SDK', () => {
  it('explains itself and exits 1 when run by hand', () => {
    const res = spawnSync(process.execPath, [fixture('echo-isolator')], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(res.status).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain('echo-isolator 1.2.3 is a Tessera module (isolator), not a program to run by hand.');
    expect(res.stderr).toContain('tessera modules check modules.json');
  });

  it('is NOT_SERVING and refuses kind calls until configured', async () => {
    const launched = await launchModule({ name: 'echo', command: process.execPath, args: [fixture('echo-isolator')], coreVersion: 'test' });
    const conn = new ModuleConnection('echo', launched.socketPath, launched.token);
    try {
      expect(await conn.unary('health', 'Check', {})).toEqual({ status: 'NOT_SERVING' });
      const early = await conn.unary('isolator', 'Cleanup', { containerId: { value: 'x' } }).catch((e: TesseraError) => e);
      expect(early).toMatchObject({ code: 'TSR_NOT_CONFIGURED', message: 'module echo: isolator.Cleanup: module echo-isolator: isolator.Cleanup called before Configure' });
      await conn.unary('module', 'Configure', { negotiated: [{ kind: 'isolator', abiVersion: '1.0.0' }], parametersJson: '{}' });
      expect(await conn.unary('health', 'Check', {})).toEqual({ status: 'SERVING' });
      const bad = await conn.unary('module', 'Configure', { negotiated: [{ kind: 'isolator', abiVersion: '2.0.0' }] }).catch((e: TesseraError) => e);
      expect(bad).toMatchObject({ code: 'TSR_ABI_NO_OVERLAP' });
    } finally {
      conn.close();
      launched.child.kill('SIGKILL');
    }
  });

  it('derives capabilities from the handlers an author wrote', () => {
    expect(capabilitiesOf('isolator', { prepare() {}, cleanup() {}, usage() {}, supportsStandalone: true })).toEqual(['usage', 'supports_standalone']);
    expect(capabilitiesOf('hook', { agentTaskStatusDecorator() {} })).toEqual(['agent_task_status_decorator']);
  });

  it('refuses a definition that cannot work, naming every problem', () => {
    expect(() => validateDefinition({ name: 'x', version: '1', isolator: { cleanup: async () => undefined } as never } as never)).toThrow(
      'module definition x: version "1" is not a semver version such as 1.0.0; isolator: missing handler(s) prepare',
    );
    expect(() => validateDefinition({ name: 'h', version: '1.0.0', hook: {} } as never)).toThrow(/hook: missing handler\(s\) one of masterLaunchTaskLabelDecorator/);
  });

  it('serves a module in-process through the real gRPC stack for authors’ tests', async () => {
    const seen: string[] = [];
    const mod = await serveInProcess(
      {
        name: 'inproc',
        version: '0.1.0',
        parameters: { type: 'object', properties: { tag: { type: 'string' } } },
        configure: ({ parameters }) => void seen.push(`tag=${(parameters as { tag: string }).tag}`),
        isolator: {
          async prepare(req) {
            seen.push(`prepare ${req.containerId?.value}`);
            return { workingDirectory: '/work' };
          },
          async cleanup(req) {
            seen.push(`cleanup ${req.containerId?.value}`);
          },
        },
      },
      { parameters: { tag: 'a' } },
    );
    try {
      const isolator = new IsolatorClient(mod);
      expect(await isolator.prepare({ value: 'c1' }, {})).toMatchObject({ workingDirectory: '/work', mounts: [] });
      await isolator.isolate({ value: 'c1' }, 1); // not advertised: a no-op, never sent
      expect(await isolator.usage({ value: 'c1' })).toEqual({});
      await isolator.cleanup({ value: 'c1' });
      expect(seen).toEqual(['tag=a', 'prepare c1', 'cleanup c1']);
    } finally {
      await mod.stop();
    }
  });

  it('keeps a module\'s own code on DEADLINE_EXCEEDED (a driver that timed out); the call\'s own deadline is TSR_CALL_TIMEOUT', async () => {
    const mod = await serveInProcess({
      name: 'slow-driver',
      version: '0.1.0',
      isolator: {
        async prepare(req) {
          if (req.containerId?.value === 'own') throw new TesseraError('DRIVER_TIMEOUT', 'volume driver "hang" did not answer within 100 ms', { grpcStatus: 4 });
          await new Promise((r) => setTimeout(r, 2000));
          return {};
        },
        async cleanup() {},
      },
    });
    try {
      const isolator = new IsolatorClient(mod);
      await expect(isolator.prepare({ value: 'own' }, {})).rejects.toMatchObject({ code: 'DRIVER_TIMEOUT', message: expect.stringContaining('volume driver "hang"') });
      await expect(mod.connection.unary('isolator', 'Prepare', { containerId: { value: 'slow' }, config: {} }, { deadlineMs: 200 })).rejects.toMatchObject({ code: 'TSR_CALL_TIMEOUT' });
    } finally {
      await mod.stop();
    }
  });
});
