// The probes against real sockets and real processes: HTTP as curl -L reads it, TCP connects, and a
// COMMAND check run like its task (sandbox, environment, output, timeout killing its whole tree).
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TaskInfo } from '../../master/model/mesos';
import { readStat } from '../containerizer/proc';
import { runCommandProbe } from './command-probe';
import { runNetworkProbe } from './probes';

const httpSpec = (port: number, p = '') => ({ type: 'HTTP' as const, scheme: 'http' as const, port, path: p, ipv6: false });

async function listen(server: http.Server | net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

describe('HTTP and TCP probes', () => {
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/moved') return void res.writeHead(302, { Location: '/ok' }).end();
      if (req.url === '/loop') return void res.writeHead(301, { Location: '/loop' }).end();
      if (req.url === '/not-modified') return void res.writeHead(304).end();
      if (req.url === '/slow') return; // never answers
      res.writeHead(req.url === '/ok' ? 200 : 503).end('body');
    });
    port = await listen(server);
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('GETs 127.0.0.1:<port><path> and gives the final status code, following redirects', async () => {
    expect(await runNetworkProbe(httpSpec(port, '/ok'), { timeoutMs: 5000 })).toEqual({ type: 'HTTP', statusCode: 200 });
    expect(await runNetworkProbe(httpSpec(port, '/moved'), { timeoutMs: 5000 })).toEqual({ type: 'HTTP', statusCode: 200 });
    expect(await runNetworkProbe(httpSpec(port, '/not-modified'), { timeoutMs: 5000 })).toEqual({ type: 'HTTP', statusCode: 304 });
    expect(await runNetworkProbe(httpSpec(port, '/broken'), { timeoutMs: 5000 })).toEqual({ type: 'HTTP', statusCode: 503 });
    expect(await runNetworkProbe(httpSpec(port, '/loop'), { timeoutMs: 5000 })).toEqual({ type: 'HTTP', statusCode: 301 });
  });

  it('is an error when nothing listens or the answer does not come in time', async () => {
    const closed = await closedPort();
    expect(await runNetworkProbe(httpSpec(closed, '/'), { timeoutMs: 5000 })).toEqual({ error: expect.stringMatching(new RegExp(`GET http://127.0.0.1:${closed}/: .*ECONNREFUSED`)) });
    const started = Date.now();
    expect(await runNetworkProbe(httpSpec(port, '/slow'), { timeoutMs: 300 })).toEqual({ error: 'timed out after 0.3 s' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('TCP: succeeded when the port accepts, not when it is closed', async () => {
    expect(await runNetworkProbe({ type: 'TCP', port, ipv6: false }, { timeoutMs: 5000 })).toEqual({ type: 'TCP', succeeded: true });
    expect(await runNetworkProbe({ type: 'TCP', port: await closedPort(), ipv6: false }, { timeoutMs: 5000 })).toEqual({ type: 'TCP', succeeded: false });
  });
});

describe('COMMAND probe', () => {
  let sandbox: string;
  const task: TaskInfo = {
    name: 't',
    task_id: { value: 'web-1' },
    agent_id: { value: 'A1' },
    command: { value: 'sleep 100', environment: { variables: [{ name: 'APP', value: 'task' }, { name: 'ONLY_TASK', value: 'yes' }] } },
  };
  const ctx = () => ({ task, frameworkId: 'F1', containerId: 'C1', sandbox });
  beforeEach(() => {
    sandbox = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-probe-'));
    fs.writeFileSync(path.join(sandbox, 'stderr'), '');
  });
  afterEach(() => fs.rmSync(sandbox, { recursive: true, force: true }));

  it('runs in the sandbox with the task environment, MESOS_* and its own variables over the task\'s; output goes to the sandbox stderr', async () => {
    const cmd = { value: 'echo "$APP $ONLY_TASK $MESOS_TASK_ID $MESOS_SANDBOX $(pwd)"; echo oops >&2; exit 3', environment: { variables: [{ name: 'APP', value: 'check' }] } };
    expect(await runCommandProbe(cmd, ctx(), { timeoutMs: 5000 })).toEqual({ type: 'COMMAND', exitCode: 3 });
    const err = fs.readFileSync(path.join(sandbox, 'stderr'), 'utf8');
    expect(err).toContain(`check yes web-1 ${sandbox} ${fs.realpathSync(sandbox)}`);
    expect(err).toContain('oops');
  });

  it('runs `value` with arguments[1..] when shell is false', async () => {
    const r = await runCommandProbe({ shell: false, value: '/bin/sh', arguments: ['sh', '-c', 'exit 7'] }, ctx(), { timeoutMs: 5000 });
    expect(r).toEqual({ type: 'COMMAND', exitCode: 7 });
  });

  it('kills the whole process tree of a check that outlives its timeout', async () => {
    const pidFile = path.join(sandbox, 'bg.pid');
    const started = Date.now();
    const r = await runCommandProbe({ value: `sleep 60 & echo $! > ${pidFile}; wait` }, ctx(), { timeoutMs: 500 });
    expect(r).toEqual({ error: 'timed out after 0.5 s' });
    expect(Date.now() - started).toBeLessThan(3000);
    const bg = Number(fs.readFileSync(pidFile, 'utf8'));
    // Gone, or a zombie waiting for init to reap it (killed all the same).
    const gone = async () => {
      for (let i = 0; i < 50; i++) {
        const stat = readStat(bg);
        if (!stat || stat.state === 'Z' || stat.state === 'X') return true;
        await new Promise((res) => setTimeout(res, 50));
      }
      return false;
    };
    expect(await gone()).toBe(true);
  });

  it('is an error when the program does not exist', async () => {
    expect(await runCommandProbe({ shell: false, value: '/nonexistent/check' }, ctx(), { timeoutMs: 5000 })).toEqual({ error: expect.stringContaining('cannot start the command') });
  });
});
