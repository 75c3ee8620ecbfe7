// /files/browse, /files/read and /files/download over a real port, against real sandbox directories:
// Mesos's semantics, and a table of path traversal attempts that must all be refused without harm.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startAgentHttp, type AgentHttp } from '../../core/src/agent/http/server';
import { openInside } from '../../core/src/agent/http/sandbox-path';
import { createLog } from '../../core/src/log';
import { decodeProto, encodeProto } from '../../core/src/master/wire';
import { tempDir } from '../modules/helpers';
import { makeView, type TestView } from './http-view';

const log = createLog({ level: 'error' });
let view: TestView;
let server: AgentHttp;
let sandbox: string;
let outside: string;

const FW = { id: { value: 'F-0001' }, name: 'fw', user: 'root' };

beforeAll(async () => {
  view = makeView(tempDir());
  sandbox = view.addExecutor(FW, 't1', 'TASK_RUNNING', { stdout: 'hello\nsecond line\n' }).sandbox;
  fs.mkdirSync(path.join(sandbox, 'sub'));
  fs.writeFileSync(path.join(sandbox, 'sub', 'data.bin'), Buffer.from([0x41, 0x00, 0xff, 0xe9, 0x42]));
  fs.writeFileSync(path.join(sandbox, 'big'), Buffer.alloc(200_000, 'x'));
  fs.writeFileSync(path.join(sandbox, 'caf\u00e9.txt'), 'accent');
  // Secrets next to the sandboxes: in the work dir (the agent's checkpoints) and elsewhere on the host.
  fs.mkdirSync(path.join(view.workDir, 'meta'));
  fs.writeFileSync(path.join(view.workDir, 'meta', 'secret'), 'TOP-SECRET-CHECKPOINT');
  outside = tempDir();
  fs.writeFileSync(path.join(outside, 'secret'), 'TOP-SECRET-OUTSIDE');
  fs.mkdirSync(`${view.root}-evil`);
  fs.writeFileSync(`${view.root}-evil/secret`, 'TOP-SECRET-SIBLING');
  // Symlinks: out of the sandboxes (a directory and a file), and one that stays inside.
  fs.symlinkSync(outside, path.join(sandbox, 'link-out'));
  fs.symlinkSync(path.join(view.workDir, 'meta', 'secret'), path.join(sandbox, 'meta-link'));
  fs.symlinkSync('stdout', path.join(sandbox, 'stdout-link'));
  fs.symlinkSync('../'.repeat(40), path.join(sandbox, 'up-link'));
  fs.symlinkSync('../'.repeat(40) + 'no/such/dir', path.join(sandbox, 'dangling-out'));
  fs.symlinkSync('loop', path.join(sandbox, 'loop'));
  server = await startAgentHttp({ ip: '127.0.0.1', port: 0, view, log });
});
afterAll(async () => {
  await server.close();
  fs.rmSync(view.workDir, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
  fs.rmSync(`${view.root}-evil`, { recursive: true, force: true });
});

// A raw request: the target goes on the wire exactly as written (no client-side normalization).
function raw(target: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: target, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const q = (p: string) => encodeURIComponent(p);

/** api posts an agent operator Call as JSON (or protobuf, decoding the answer). */
async function api(call: Record<string, unknown>, protobuf = false): Promise<{ status: number; text: string; body?: any }> {
  const headers: Record<string, string> = protobuf ? { 'Content-Type': 'application/x-protobuf', Accept: 'application/x-protobuf' } : { 'Content-Type': 'application/json' };
  const r = await fetch(`http://127.0.0.1:${server.port}/api/v1`, { method: 'POST', headers, body: protobuf ? encodeProto('mesos.v1.agent.Call', call) : JSON.stringify(call) });
  if (protobuf && r.status === 200) return { status: r.status, text: '', body: decodeProto('mesos.v1.agent.Response', new Uint8Array(await r.arrayBuffer())) };
  const text = await r.text();
  return { status: r.status, text, body: r.status === 200 ? JSON.parse(text) : undefined };
}

describe("the operator API's LIST_FILES and READ_FILE", () => {
  it('lists a sandbox directory as mesos.v1.FileInfo (mode bits, mtime in nanoseconds, owner names), or the one file named', async () => {
    const r = await api({ type: 'LIST_FILES', list_files: { path: sandbox } });
    expect(r.status).toBe(200);
    const infos = r.body.list_files.file_infos as any[];
    const stdout = infos.find((f) => f.path === `${sandbox}/stdout`);
    const st = fs.lstatSync(path.join(sandbox, 'stdout'));
    expect(stdout).toEqual({ path: `${sandbox}/stdout`, nlink: 1, size: 18, mtime: { nanoseconds: Math.floor(st.mtimeMs) * 1_000_000 }, mode: st.mode, uid: expect.any(String), gid: expect.any(String) });
    expect(infos.find((f) => f.path === `${sandbox}/sub`).mode & 0o170000).toBe(0o040000); // a directory
    expect(infos.map((f) => f.path)).toEqual([...infos.map((f) => f.path)].sort());
    const one = await api({ type: 'LIST_FILES', list_files: { path: `${sandbox}/sub/data.bin` } });
    expect(one.body.list_files.file_infos).toEqual([expect.objectContaining({ path: `${sandbox}/sub/data.bin`, size: 5 })]);
  });

  it('reads bytes from an offset with the file size (JSON base64, protobuf bytes); past the end, none; at most 16 pages', async () => {
    const r = await api({ type: 'READ_FILE', read_file: { path: `${sandbox}/stdout`, offset: 6, length: 6 } });
    expect(r.status).toBe(200);
    expect(r.body.read_file.size).toBe(18);
    expect(Buffer.from(r.body.read_file.data, 'base64').toString()).toBe('second');
    const bin = await api({ type: 'READ_FILE', read_file: { path: `${sandbox}/sub/data.bin`, offset: 0 } }, true);
    expect(Buffer.from(bin.body.read_file.data)).toEqual(Buffer.from([0x41, 0x00, 0xff, 0xe9, 0x42]));
    const end = await api({ type: 'READ_FILE', read_file: { path: `${sandbox}/stdout`, offset: 1000 } });
    expect(end.body.read_file).toEqual({ size: 18, data: '' });
    const big = await api({ type: 'READ_FILE', read_file: { path: `${sandbox}/big`, offset: 0, length: 1_000_000 } }, true);
    expect(big.body.read_file.size).toBe(200_000);
    expect(big.body.read_file.data.length).toBe(16 * 4096);
  });

  it('refuses a directory to READ_FILE (400), a missing file (404) and a call without its path (400)', async () => {
    expect(await api({ type: 'READ_FILE', read_file: { path: sandbox, offset: 0 } })).toMatchObject({ status: 400, text: expect.stringMatching(/it is a directory/) });
    expect((await api({ type: 'LIST_FILES', list_files: { path: `${sandbox}/no-such` } })).status).toBe(404);
    expect(await api({ type: 'LIST_FILES' })).toMatchObject({ status: 400 });
    expect(await api({ type: 'READ_FILE', read_file: { path: `${sandbox}/stdout` } })).toMatchObject({ status: 400, text: expect.stringMatching(/read_file\.offset/) });
  });
});

describe('/files/read', () => {
  it("reads a sandbox file by the executor's directory, as Mesos: offset -1 (or none) gives the size", async () => {
    const size = await raw(`/files/read?path=${q(sandbox + '/stdout')}&offset=-1`);
    expect(size.status).toBe(200);
    expect(JSON.parse(size.body.toString())).toEqual({ data: '', offset: 18 });
    expect(JSON.parse((await raw(`/files/read?path=${q(sandbox + '/stdout')}`)).body.toString())).toEqual({ data: '', offset: 18 });
    const all = await raw(`/files/read?path=${q(sandbox + '/stdout')}&offset=0`);
    expect(all.headers['content-type']).toBe('application/json');
    expect(JSON.parse(all.body.toString())).toEqual({ data: 'hello\nsecond line\n', offset: 0 });
    expect(JSON.parse((await raw(`/files/read?path=${q(sandbox + '/stdout')}&offset=6&length=6`)).body.toString())).toEqual({ data: 'second', offset: 6 });
    // Past the end: no data, the size as offset.
    expect(JSON.parse((await raw(`/files/read?path=${q(sandbox + '/stdout')}&offset=100`)).body.toString())).toEqual({ data: '', offset: 18 });
    // Through /slave(1)/ and a trailing slash on the route.
    expect((await raw(`/slave(1)/files/read/?path=${q(sandbox + '/stdout')}&offset=0`)).status).toBe(200);
  });

  it('gives one character per byte, non-ASCII escaped, so that offset + data.length is the next offset', async () => {
    const r = await raw(`/files/read?path=${q(sandbox + '/sub/data.bin')}&offset=0`);
    expect(r.body.toString()).toBe('{"data":"A\\u0000\\u00ff\\u00e9B","offset":0}');
    expect(JSON.parse(r.body.toString()).data).toHaveLength(5);
  });

  it('caps a read at 16 pages', async () => {
    const r = JSON.parse((await raw(`/files/read?path=${q(sandbox + '/big')}&offset=0&length=150000`)).body.toString());
    expect(r.data).toHaveLength(65536);
    const next = JSON.parse((await raw(`/files/read?path=${q(sandbox + '/big')}&offset=${65536 * 3}`)).body.toString());
    expect(next).toEqual({ data: 'x'.repeat(200_000 - 65536 * 3), offset: 65536 * 3 });
  });

  it.each([
    ['offset=abc', 400, /^Failed to parse offset/],
    ['offset=-2', 400, /^Failed to parse offset/],
    ['offset=0&length=-5', 400, /^Failed to parse length/],
    ['offset=1.5', 400, /^Failed to parse offset/],
  ])('refuses %s with %d', async (params, status, message) => {
    const r = await raw(`/files/read?path=${q(sandbox + '/stdout')}&${params}`);
    expect(r.status).toBe(status);
    expect(r.body.toString()).toMatch(message);
  });

  it('refuses a directory, a missing path and a missing file', async () => {
    const dir = await raw(`/files/read?path=${q(sandbox)}&offset=0`);
    expect([dir.status, dir.body.toString()]).toEqual([400, expect.stringMatching(/it is a directory/)]);
    const none = await raw('/files/read?offset=0');
    expect([none.status, none.body.toString()]).toEqual([400, expect.stringMatching(/^Expecting 'path=value' in query/)]);
    const missing = await raw(`/files/read?path=${q(sandbox + '/nope')}&offset=0`);
    expect([missing.status, missing.body.toString()]).toEqual([404, expect.stringMatching(/^File not found/)]);
  });

  it("reads through Mesos's virtual path of a running executor", async () => {
    const r = await raw(`/files/read?path=${q('/frameworks/F-0001/executors/t1/runs/latest/stdout')}&offset=0`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString()).data).toBe('hello\nsecond line\n');
    expect((await raw(`/files/read?path=${q('/frameworks/F-0001/executors/c-t1-nope/runs/latest/stdout')}&offset=0`)).status).toBe(404);
  });

  it('follows a symlink that stays inside the sandboxes', async () => {
    const r = await raw(`/files/read?path=${q(sandbox + '/stdout-link')}&offset=0`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString()).data).toBe('hello\nsecond line\n');
  });
});

describe('/files/browse', () => {
  it('lists a sandbox as Mesos: path, nlink, size, mtime, mode, uid, gid; symlinks as themselves', async () => {
    const r = await raw(`/files/browse?path=${q(sandbox)}`);
    expect(r.status).toBe(200);
    const list = JSON.parse(r.body.toString()) as { path: string; mode: string; size: number; nlink: number; mtime: number; uid: string; gid: string }[];
    expect(list.map((e) => path.basename(e.path))).toEqual(['big', 'caf\u00e9.txt', 'dangling-out', 'link-out', 'loop', 'meta-link', 'stderr', 'stdout', 'stdout-link', 'sub', 'up-link']);
    const stdout = list.find((e) => e.path === `${sandbox}/stdout`)!;
    expect(stdout).toEqual({ path: `${sandbox}/stdout`, nlink: 1, size: 18, mtime: expect.any(Number), mode: expect.stringMatching(/^-rw-/), uid: expect.any(String), gid: expect.any(String) });
    expect(Math.abs(stdout.mtime - Date.now() / 1000)).toBeLessThan(3600);
    expect(list.find((e) => e.path.endsWith('/sub'))!.mode).toMatch(/^drwx/);
    expect(list.find((e) => e.path.endsWith('/link-out'))!.mode).toMatch(/^l/);
    if (process.getuid?.() === 0) expect(stdout.uid).toBe('root');
  });

  it('describes a single file as a one-entry list; 404 for a missing one', async () => {
    const r = JSON.parse((await raw(`/files/browse?path=${q(sandbox + '/sub/data.bin')}`)).body.toString());
    expect(r).toEqual([expect.objectContaining({ path: `${sandbox}/sub/data.bin`, size: 5 })]);
    expect((await raw(`/files/browse?path=${q(sandbox + '/none')}`)).status).toBe(404);
  });
});

describe('/files/download', () => {
  it('sends the file as an attachment', async () => {
    const r = await raw(`/files/download?path=${q(sandbox + '/sub/data.bin')}`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(r.headers['content-disposition']).toBe('attachment; filename="data.bin"');
    expect([...r.body]).toEqual([0x41, 0x00, 0xff, 0xe9, 0x42]);
    expect((await raw(`/files/download?path=${q(sandbox)}`)).status).toBe(400);
  });
});

describe('path traversal', () => {
  // [description, raw value of the path parameter (already URL-encoded as it goes on the wire), status]
  const attempts: [string, () => string, number][] = [
    ['plain ..', () => q(`${sandbox}/../../../../meta/secret`), 403],
    ['.. to the host root', () => q(`${sandbox}/../../../../../../../../../../etc/passwd`), 403],
    ['.. at the end', () => q(`${sandbox}/..`), 403],
    ['./.. mixed', () => q(`${sandbox}/./sub/./../../..`), 403],
    ['percent-encoded dots', () => `${q(sandbox)}%2f%2e%2e%2f%2e%2e%2fmeta%2fsecret`, 403],
    ['percent-encoded dots, upper case', () => `${q(sandbox)}/%2E%2E/%2E%2E/etc/passwd`, 403],
    ['double-encoded dots', () => `${q(sandbox)}%2f%252e%252e%2f%252e%252e%2fsecret`, 403],
    ['triple-encoded dots', () => `${q(sandbox)}/%25252e%25252e/secret`, 403],
    ['double-encoded slash and dots', () => `${q(sandbox)}%252f..%252fsecret`, 403],
    ['backslashes', () => q(`${sandbox}\\..\\..\\..\\..\\meta\\secret`), 403],
    ['encoded backslashes', () => `${q(sandbox)}%5c..%5c..%5csecret`, 403],
    ['absolute path outside', () => q('/etc/passwd'), 403],
    ['the work dir outside the sandboxes', () => q(path.join(view.workDir, 'meta', 'secret')), 403],
    ['a sibling sharing the prefix', () => q(`${view.root}-evil/secret`), 403],
    ['symlink to a directory outside', () => q(`${sandbox}/link-out/secret`), 403],
    ['symlink itself pointing outside', () => q(`${sandbox}/link-out`), 403],
    ['symlink to a file outside', () => q(`${sandbox}/meta-link`), 403],
    ['relative symlink climbing out', () => q(`${sandbox}/up-link/etc/passwd`), 403],
    ['dangling symlink pointing outside', () => q(`${sandbox}/dangling-out/secret`), 403],
    ['symlink loop', () => q(`${sandbox}/loop/x`), 403],
    ['NUL byte', () => `${q(sandbox)}%2fstdout%00.txt`, 403],
    ['encoded NUL twice', () => `${q(sandbox)}%2fstdout%2500`, 403],
    ['relative path', () => q('../../etc/passwd'), 403],
    ['relative name', () => 'stdout', 400],
    ['virtual path climbing out', () => q('/frameworks/F-0001/executors/t1/runs/latest/../../../../../../etc/passwd'), 403],
    ['overlong UTF-8 dots', () => `${q(sandbox)}/%c0%ae%c0%ae/%c0%ae%c0%ae/secret`, 404],
    ['dots that are a name', () => q(`${sandbox}/.../secret`), 404],
    ['empty path', () => '', 400],
  ];

  it.each(attempts)('refuses %s on read, browse and download, and to LIST_FILES and READ_FILE', async (_what, param, status) => {
    for (const action of ['read', 'browse', 'download']) {
      const r = await raw(`/files/${action}?path=${param()}&offset=0`);
      expect({ action, status: r.status }).toEqual({ action, status });
      const text = r.body.toString();
      expect(text).not.toMatch(/TOP-SECRET|root:x:0/);
      expect(text.length).toBeGreaterThan(0);
    }
    const p = new URLSearchParams(`p=${param()}`).get('p') ?? ''; // the path as /files/* decoded it
    for (const call of [{ type: 'LIST_FILES', list_files: { path: p } }, { type: 'READ_FILE', read_file: { path: p, offset: 0 } }]) {
      const r = await api(call);
      expect({ call: call.type, status: r.status }).toEqual({ call: call.type, status });
      expect(r.text).not.toMatch(/TOP-SECRET|root:x:0/);
    }
  });

  it('takes a target starting with // as a path, not a host', async () => {
    const r = await raw(`//files/read?path=${q(sandbox + '/stdout')}&offset=0`);
    expect(r.status).toBe(404);
    expect(r.body.toString()).toMatch(/^no endpoint \/\/files\/read on this agent/);
  });

  it('still serves after every attempt', async () => {
    expect((await raw('/health')).status).toBe(200);
  });
});

describe('a sandbox that changes under the agent (a task swapping a directory for a symlink, a FIFO)', () => {
  it('checks what it opened, not the path it resolved: a directory swapped for a link to outside is refused (last and intermediate component)', async () => {
    // What a task's swap between the agent's resolution and its open amounts to: the path the agent
    // checked now leads through a link to outside, for the file's own name or a directory above it.
    const realRoot = fs.realpathSync(view.root);
    const swapped = path.join(sandbox, 'swapped');
    fs.symlinkSync(outside, swapped);
    const last = path.join(sandbox, 'swapped-file');
    fs.symlinkSync(path.join(outside, 'secret'), last);
    try {
      expect(await openInside(path.join(swapped, 'secret'), realRoot, 'x')).toMatchObject({ ok: false, status: 403, message: expect.stringMatching(/leads out of the sandboxes/) });
      expect(await openInside(last, realRoot, 'x')).toMatchObject({ ok: false, status: 403 });
      expect(await openInside(swapped, realRoot, 'x')).toMatchObject({ ok: false, status: 403 });
      const ok = await openInside(path.join(sandbox, 'stdout'), realRoot, 'x');
      expect(ok).toMatchObject({ ok: true, realPath: path.join(fs.realpathSync(sandbox), 'stdout') });
      if (ok.ok) await ok.close();
    } finally {
      fs.rmSync(swapped);
      fs.rmSync(last);
    }
  });

  it('serves nothing outside while a task swaps a directory for a link to outside over and over', async () => {
    const dir = path.join(sandbox, 'flip');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'secret'), 'inside');
    fs.symlinkSync(outside, path.join(sandbox, 'flip-link'));
    // A swapper as a task would run it: renameat2(RENAME_EXCHANGE) swaps the directory and the link at flip, again and again.
    const swapper = spawn('python3', ['-c', `import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b = sys.argv[1].encode(), (sys.argv[1] + '-link').encode()
while True:
    libc.renameat2(-100, a, -100, b, 2)
`, dir], { stdio: 'ignore' });
    try {
      let leaked = 0;
      let served = 0;
      for (let round = 0; round < 150; round++) {
        const answers = await Promise.all(
          ['read', 'download', 'browse'].flatMap((action) => [0, 1, 2].map(() => raw(`/files/${action}?path=${q(path.join(dir, 'secret'))}&offset=0`))),
        );
        for (const r of answers) {
          if (r.body.toString().includes('TOP-SECRET')) leaked++;
          if (r.status === 200) served++;
        }
      }
      expect(leaked).toBe(0);
      expect(served).toBeGreaterThan(0); // the race was run: some requests met the real directory
    } finally {
      swapper.kill('SIGKILL');
    }
  }, 60_000);

  it('refuses to read or download a FIFO (400, naming it) without waiting for a writer; the agent keeps serving', async () => {
    const fifo = path.join(sandbox, 'pipe');
    require('node:child_process').execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    const answers = await Promise.all([...Array(12)].flatMap(() => [raw(`/files/read?path=${q(fifo)}&offset=0`), raw(`/files/download?path=${q(fifo)}`)]));
    for (const r of answers) {
      expect(r.status).toBe(400);
      expect(r.body.toString()).toMatch(new RegExp(`Cannot (read|download) '${fifo}': it is not a regular file \\(it is a FIFO\\)`));
    }
    expect((await api({ type: 'READ_FILE', read_file: { path: fifo, offset: 0 } })).status).toBe(400);
    const listed = JSON.parse((await raw(`/files/browse?path=${q(fifo)}`)).body.toString());
    expect(listed).toEqual([expect.objectContaining({ path: fifo, mode: 'prw-r--r--' })]);
    expect((await raw(`/files/read?path=${q(sandbox + '/stdout')}&offset=0`)).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
