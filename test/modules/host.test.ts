// The module host against real module processes over real unix sockets.
import fs from 'node:fs';
import path from 'node:path';
import { IsolatorClient, ModuleConnection, TesseraError } from '@tessera/modules-api';
import { loadModulesJson } from '../../core/src/modules/modules-json';
import { ModuleHost } from '../../core/src/modules/module-host';
import { alive, captureLog, fixture, readCalls, tempDir, waitFor, writeModulesJson } from './helpers';

const hosts: ModuleHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});

function hostFor(modules: object[], opts: { healthIntervalMs?: number } = {}): { host: ModuleHost; lines: string[] } {
  const { log, lines } = captureLog();
  const host = new ModuleHost({ config: loadModulesJson(writeModulesJson({ modules })), log, ...opts });
  hosts.push(host);
  return { host, lines };
}

async function startFailure(modules: object[]): Promise<TesseraError> {
  const { host } = hostFor(modules);
  try {
    await host.start();
  } catch (err) {
    return err as TesseraError;
  }
  throw new Error('expected start to fail');
}

describe('module host', () => {
  it('starts an isolator, negotiates, and serves prepare/isolate/usage/cleanup', async () => {
    const { host, lines } = hostFor([{ name: 'echo', file: fixture('echo-isolator'), parameters: { greeting: 'salut' } }]);
    await host.start([{ name: 'echo', kinds: ['isolator'] }]);
    const m = host.get('echo');
    expect(m.status).toBe('ready');
    expect(m.negotiated.get('isolator')).toMatchObject({ version: '1.1.0', builtAgainst: '1.1.0', accepts: '^1.0.0' });
    const isolator = host.isolator('echo');
    const launch = await isolator.prepare({ value: 'c1' }, { directory: '/tmp' });
    expect(launch?.environment?.variables).toEqual([{ name: 'GREETING', value: 'salut' }]);
    await isolator.isolate({ value: 'c1' }, process.pid);
    expect(await isolator.status({ value: 'c1' })).toMatchObject({ executorPid: process.pid });
    expect(await isolator.usage({ value: 'c1' })).toMatchObject({ memRssBytes: 1024, processes: 1 });
    await isolator.cleanup({ value: 'c1' });
    // the module's own log line arrives in the core's log under its name, keeping its fields
    await waitFor(() => lines.some((l) => l.includes('[module echo] configured {"greeting":"salut"}')), 5000, 'forwarded log');
    const snapshot = host.metrics.snapshot();
    expect(snapshot['modules/echo/isolator.Prepare/calls']).toBe(1);
    expect(snapshot['modules/echo/isolator.Prepare/errors']).toBe(0);
    expect(host.metrics.prometheus()).toContain('tessera_module_calls_total{module="echo",method="isolator.Prepare"} 1');
  });

  it('turns a module error into a coded error naming the module and call', async () => {
    const { host } = hostFor([{ name: 'echo', file: fixture('echo-isolator') }]);
    await host.start();
    const isolator = host.isolator('echo');
    await isolator.prepare({ value: 'c1' }, {});
    const err = await isolator.prepare({ value: 'c1' }, {}).catch((e: TesseraError) => e);
    expect(err).toBeInstanceOf(TesseraError);
    expect((err as TesseraError).code).toBe('ECHO_ALREADY_PREPARED');
    expect((err as TesseraError).message).toBe('module echo: isolator.Prepare: container c1 is already prepared');
    const plain = await isolator.usage({ value: 'fail' }).catch((e: TesseraError) => e);
    expect(plain).toMatchObject({ code: 'TSR_HANDLER_FAILED', message: 'module echo: isolator.Usage: usage exploded' });
    expect(host.metrics.snapshot()['modules/echo/isolator.Prepare/errors']).toBe(1);
  });

  it('refuses parameters that fail the module schema, naming the JSON path and line', async () => {
    const err = await startFailure([{ name: 'echo', file: fixture('echo-isolator'), parameters: { greeting: 'hi', limit: 0, colour: 'red' } }]);
    expect(err.code).toBe('TSR_PARAMETERS_INVALID');
    expect(err.message).toContain('module echo (echo-isolator 1.2.3) refuses its parameters');
    expect(err.message).toMatch(/modules\.json:\d+:\d+ \/modules\/0\/parameters\/limit: must be >= 1/);
    expect(err.message).toMatch(/modules\.json:\d+:\d+ \/modules\/0\/parameters\/colour: unknown parameter "colour"/);
  });

  it('reports a package that is not installed', async () => {
    const err = await startFailure([{ name: 'gpu', package: '@tessera/no-such-module' }]);
    expect(err.code).toBe('TSR_MODULE_PACKAGE_NOT_FOUND');
    expect(err.message).toMatch(/package "@tessera\/no-such-module" is not installed where modules.json is .*run `npm install @tessera\/no-such-module`/);
  });

  it('reports a command that is not executable', async () => {
    const dir = tempDir();
    const script = path.join(dir, 'hook.sh');
    fs.writeFileSync(script, '#!/bin/sh\n');
    const err = await startFailure([{ name: 'hook', command: [script] }]);
    expect(err.code).toBe('TSR_MODULE_COMMAND_NOT_EXECUTABLE');
    expect(err.message).toContain(`command "${script}" (${script}) is not executable: run \`chmod +x ${script}\``);
    const missing = await startFailure([{ name: 'hook', command: ['no-such-program-xyz'] }]);
    expect(missing.message).toContain('command "no-such-program-xyz" was not found on PATH');
  });

  it('shows what a module printed before its handshake line', async () => {
    const err = await startFailure([{ name: 'noisy', file: fixture('garbage') }]);
    expect(err.code).toBe('TSR_HANDSHAKE_GARBAGE');
    expect(err.message).toContain('printed on stdout before its handshake line: "Starting my module v2...\\nDEBUG config loaded"');
  });

  it('gives up on a module that never shakes hands, within the start timeout', async () => {
    const started = Date.now();
    const err = await startFailure([{ name: 'mute', file: fixture('silent'), timeouts: { start: '800ms' } }]);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err.code).toBe('TSR_HANDSHAKE_TIMEOUT');
    expect(err.message).toContain('printed no handshake line within 800 ms');
    expect(err.message).toContain('waiting for something that never comes');
  });

  it('reports a module crashing during GetInfo and during Configure, with its stderr', async () => {
    const info = await startFailure([{ name: 'c1', file: fixture('crash-getinfo') }]);
    expect(info.code).toBe('TSR_MODULE_EXITED');
    expect(info.message).toContain('module c1 exited (code 3) during GetInfo/Configure; stderr: panic: schema table corrupted');
    const conf = await startFailure([{ name: 'c2', file: fixture('crash-configure') }]);
    expect(conf.code).toBe('TSR_MODULE_EXITED');
    expect(conf.message).toContain('module c2 exited (code 4) during GetInfo/Configure; stderr: fatal: cannot open /dev/imaginary');
  });

  it('refuses a module used as a kind it does not implement', async () => {
    const { host } = hostFor([{ name: 'labels', file: fixture('label-hook') }]);
    const err = await host.start([{ name: 'labels', kinds: ['isolator'] }]).catch((e: TesseraError) => e);
    expect(err).toMatchObject({ code: 'TSR_ABI_KIND_MISSING' });
    expect((err as Error).message).toContain('module labels (label-hook 0.3.0) is used as isolator but implements hook');
  });

  it('lets no call through without the token', async () => {
    const { host } = hostFor([{ name: 'echo', file: fixture('echo-isolator') }]);
    await host.start();
    const socket = fs.readdirSync((host as unknown as { runtimeDir: string }).runtimeDir).find((f) => f.endsWith('.sock'))!;
    const intruder = new ModuleConnection('echo', path.join((host as unknown as { runtimeDir: string }).runtimeDir, socket), 'not-the-token');
    try {
      const err = await intruder.unary('isolator', 'Cleanup', { containerId: { value: 'c1' } }).catch((e: TesseraError) => e);
      expect(err).toMatchObject({ code: 'TSR_UNAUTHENTICATED' });
      expect((err as Error).message).toContain('wrong tessera-token metadata: this module answers only the core that started it');
    } finally {
      intruder.close();
    }
  });

  it('restarts a SIGKILLed module with backoff, calls recover, and fails in-flight calls clearly', async () => {
    const calls = path.join(tempDir(), 'calls.jsonl');
    const { host, lines } = hostFor([
      { name: 'echo', file: fixture('echo-isolator'), env: { FIXTURE_LOG: calls }, timeouts: { call: '3s' }, restart: { initialBackoff: '200ms' } },
    ]);
    await host.start();
    const m = host.get('echo');
    const recovered: number[] = [];
    m.onRecover(async (caller) => {
      await new IsolatorClient(caller).recover({ states: [{ containerId: { value: 'c1' }, pid: 4242 }] });
      recovered.push(Date.now());
    });
    const isolator = host.isolator('echo');
    await isolator.prepare({ value: 'c1' }, {});
    const firstPid = m.pid!;

    const inflight = isolator.usage({ value: 'slow' }).catch((e: TesseraError) => e);
    await new Promise((r) => setTimeout(r, 200));
    const killedAt = Date.now();
    process.kill(firstPid, 'SIGKILL');
    const err = (await inflight) as TesseraError;
    expect(Date.now() - killedAt).toBeLessThan(3000);
    expect(err.code).toBe('TSR_MODULE_EXITED');
    expect(err.message).toBe('module echo exited (signal SIGKILL) during isolator.Usage; the core is restarting it');

    await waitFor(() => m.status === 'ready' && m.pid !== firstPid, 10_000, 'restart');
    expect(alive(firstPid)).toBe(false);
    expect(recovered).toHaveLength(1);
    expect(recovered[0] - killedAt).toBeGreaterThanOrEqual(200); // the backoff was honoured
    expect(m.restartCount).toBe(1);
    // the new process got Recover with what the core knows, then calls flow again
    const recoverCall = readCalls(calls).find((c) => c.call === 'recover');
    expect(recoverCall).toMatchObject({ pid: m.pid, states: ['c1'] });
    expect(await isolator.status({ value: 'c1' })).toMatchObject({ executorPid: 4242 });
    expect(lines.join('')).toContain('module echo exited (signal SIGKILL); restarting in 200 ms');
    expect(host.metrics.snapshot()['modules/echo/restarts']).toBe(1);
  });

  it('waits for a restart in progress instead of failing new calls at once', async () => {
    const { host } = hostFor([{ name: 'echo', file: fixture('echo-isolator'), restart: { initialBackoff: '300ms' } }]);
    await host.start();
    const m = host.get('echo');
    const pid = m.pid!;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => m.status === 'restarting', 5000, 'restarting');
    await host.isolator('echo').prepare({ value: 'after' }, {});
    expect(m.pid).not.toBe(pid);
  });

  it('stops modules gracefully: no process left behind', async () => {
    const { host } = hostFor([
      { name: 'echo', file: fixture('echo-isolator') },
      { name: 'labels', file: fixture('label-hook') },
    ]);
    await host.start();
    const pids = host.all().map((m) => m.pid!);
    expect(pids.every(alive)).toBe(true);
    await host.stop();
    expect(pids.some(alive)).toBe(false);
  });
});
