// Helpers for the isolator-dvdi tests: a real tessera-volume-local process, a counting proxy in front
// of it, scriptable fake plugins, real bind mounts and /proc/self/mountinfo checks.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { readMountinfo } from '../../modules/isolator-dvdi/src/plugin/mountinfo';
import { ROOT, waitFor } from '../modules/helpers';

/** PLUGIN_BIN is the tessera-volume-local executable (needs `npm run bundle`). */
export const PLUGIN_BIN = path.join(ROOT, 'modules/isolator-dvdi/bin/tessera-volume-local.js');
/** MODULE_BUILD is the bundled isolator module. */
export const MODULE_BUILD = path.join(ROOT, 'modules/isolator-dvdi/dist/module.js');

/** post makes one protocol call on a unix socket and returns status and parsed body. */
export function post(socket: string, call: string, body: object = {}): Promise<{ status: number; body: Record<string, any> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method: 'POST', path: `/${call}`, headers: { 'Content-Type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} });
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** PluginProcess is a running tessera-volume-local. */
export class PluginProcess {
  readonly stderr: string[] = [];
  private child: ChildProcess | undefined;

  constructor(
    readonly socket: string,
    readonly root: string,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** start spawns the plugin and waits until it answers /Plugin.Activate. */
  async start(): Promise<this> {
    const child = spawn(process.execPath, [PLUGIN_BIN, `--socket=${this.socket}`, `--root=${this.root}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    child.stderr!.setEncoding('utf8').on('data', (d: string) => this.stderr.push(...d.split('\n').filter(Boolean)));
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`tessera-volume-local exited ${child.exitCode}: ${this.stderr.join('\n')}`);
        return post(this.socket, 'Plugin.Activate').then(
          (r) => r.status === 200,
          () => false,
        );
      },
      15_000,
      'tessera-volume-local to answer',
    );
    return this;
  }

  /** stop ends the plugin with SIGTERM (it removes its socket). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  /** kill9 ends the plugin with SIGKILL: the socket file stays, nothing answers on it. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** volume answers /VolumeDriver.Get's Volume, or undefined when the plugin does not know it. */
  async volume(name: string): Promise<Record<string, any> | undefined> {
    const r = await post(this.socket, 'VolumeDriver.Get', { Name: name });
    return r.body.Err ? undefined : r.body.Volume;
  }
}

/** CountingProxy forwards protocol calls to a plugin socket and counts them by call and volume. */
export class CountingProxy {
  readonly calls: { call: string; name?: string; id?: string }[] = [];
  private server: http.Server | undefined;

  constructor(
    readonly socket: string,
    private readonly target: string,
  ) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        let parsed: { Name?: string; ID?: string } = {};
        try {
          parsed = JSON.parse(body.toString('utf8') || '{}');
        } catch {
          // forwarded as is
        }
        this.calls.push({ call: (req.url ?? '').slice(1), name: parsed.Name, id: parsed.ID });
        const up = http.request({ socketPath: this.target, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        });
        up.on('error', (err) => {
          res.writeHead(502);
          res.end(err.message);
        });
        up.end(body);
      });
    });
    await new Promise<void>((r) => this.server!.listen(this.socket, r));
    return this;
  }

  /** count counts the calls of one kind, optionally for one volume. */
  count(call: string, name?: string): number {
    return this.calls.filter((c) => c.call === call && (name === undefined || c.name === name)).length;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
    fs.rmSync(this.socket, { force: true });
  }
}

/** FakePlugin answers protocol calls from a script, for error paths (Err answers, hangs, strangers). */
export class FakePlugin {
  readonly calls: string[] = [];
  private server: http.Server | undefined;

  constructor(
    readonly socket: string,
    private readonly answer: (call: string, body: Record<string, unknown>) => { status?: number; body?: unknown; hang?: boolean },
  ) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const call = (req.url ?? '').slice(1);
        this.calls.push(call);
        const a = this.answer(call, JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
        if (a.hang) return;
        const text = typeof a.body === 'string' ? a.body : JSON.stringify(a.body ?? {});
        res.writeHead(a.status ?? 200, { 'Content-Type': 'application/vnd.docker.plugins.v1+json' });
        res.end(text);
      });
    });
    await new Promise<void>((r) => this.server!.listen(this.socket, r));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    fs.rmSync(this.socket, { force: true });
  }
}

/** bindMount performs a launch info's mount as a containerizer would: rbind, then a read-only remount for "ro". */
export function bindMount(source: string, target: string, flags: readonly string[]): void {
  execFileSync('mount', [flags.includes('rbind') ? '--rbind' : '--bind', source, target]);
  if (flags.includes('ro')) execFileSync('mount', ['-o', 'remount,ro,bind', target]);
}

/** unmountAll unmounts everything mounted on or below `dir`, deepest first (errors ignored). */
export function unmountAll(dir: string): void {
  for (let i = 0; i < 10; i++) {
    const mounts = mountPointsUnder(dir);
    if (mounts.length === 0) return;
    for (const m of mounts.sort((a, b) => b.length - a.length)) {
      try {
        execFileSync('umount', ['-l', m], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  }
}

/** mountPointsUnder lists the mount points on or below `dir` in /proc/self/mountinfo. */
export function mountPointsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return readMountinfo()
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(prefix));
}

/** canMount tells whether this process may mount (root with CAP_SYS_ADMIN); the reason otherwise. */
export function mountSupport(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  const dir = fs.mkdtempSync('/tmp/tessera-dvdi-probe-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', 'probe', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return undefined;
  } catch (err) {
    return `mount(2) is not permitted here: ${(err as Error).message}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
