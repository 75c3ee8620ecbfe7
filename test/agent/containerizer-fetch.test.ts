// CommandInfo.uris fetched into the sandbox before the command runs: local paths, file:// and http
// URLs from a real HTTP server, tar.gz and zip archives made here, executable, and output_file that
// tries to leave the sandbox.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { LaunchError } from '../../core/src/agent/containerizer';
import { fetchOne } from '../../core/src/agent/containerizer/fetcher';
import { tempDir } from '../modules/helpers';
import { killLeftovers, makeRig, read, task, type Rig } from './containerizer-helpers';

let server: http.Server;
let base: string;
let files: string;
const rigs: Rig[] = [];

beforeAll(async () => {
  files = tempDir();
  fs.writeFileSync(path.join(files, 'hello.txt'), 'hello from http\n');
  fs.writeFileSync(path.join(files, 'run.sh'), '#!/bin/sh\necho "script ran with $1"\n');
  const src = path.join(files, 'src');
  fs.mkdirSync(path.join(src, 'app/bin'), { recursive: true });
  fs.writeFileSync(path.join(src, 'app/bin/tool.sh'), '#!/bin/sh\necho tool\n', { mode: 0o755 });
  fs.writeFileSync(path.join(src, 'app/README'), 'readme\n');
  execFileSync('tar', ['-czf', path.join(files, 'app.tar.gz'), '-C', src, 'app']);
  execFileSync('tar', ['-cJf', path.join(files, 'app.tar.xz'), '-C', src, 'app']);
  execFileSync('tar', ['-cjf', path.join(files, 'app.tbz2'), '-C', src, 'app']);
  execFileSync('python3', ['-c', 'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as z:\n  z.writestr("zipped/data.txt", "zipped data\\n")', path.join(files, 'data.zip')]);
  server = http.createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url!, 'http://x').pathname.slice(1));
    if (name === 'slow') {
      setTimeout(() => res.end('late\n'), 1500);
      return;
    }
    const file = path.join(files, name);
    if (!name || name.includes('..') || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end('not found');
      return;
    }
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  killLeftovers();
  await Promise.all(rigs.map((r) => r.c.close()));
  await new Promise((r) => server.close(r));
});

function rig(): Rig {
  const r = makeRig({ fetchTimeoutMs: 10_000 });
  rigs.push(r);
  return r;
}

async function failure(r: Rig, uris: object[], id: string): Promise<LaunchError['failure']> {
  try {
    await r.launch(task(id, { value: 'true', uris: uris as never }));
  } catch (err) {
    expect(err).toBeInstanceOf(LaunchError);
    return (err as LaunchError).failure;
  }
  throw new Error('expected the launch to fail');
}

describe('universal containerizer: fetching CommandInfo.uris', () => {
  it('fetches an absolute path, a file:// URL and an http URL into the sandbox before the command runs', async () => {
    const r = rig();
    const view = await r.launch(
      task('fetch', {
        value: 'cat hello.txt copy.txt remote.txt',
        uris: [
          { value: path.join(files, 'hello.txt') },
          { value: `file://${path.join(files, 'hello.txt')}`, output_file: 'copy.txt' },
          { value: `${base}/hello.txt`, output_file: 'remote.txt' },
        ],
      }),
    );
    expect(await r.c.wait(view.containerId)).toMatchObject({ state: 'TASK_FINISHED' });
    expect(read(path.join(view.sandbox, 'stdout'))).toBe('hello from http\n'.repeat(3));
  });

  it('makes a fetched file executable', async () => {
    const r = rig();
    const view = await r.launch(task('exec', { value: './run.sh now', uris: [{ value: `${base}/run.sh`, executable: true }] }));
    expect(await r.c.wait(view.containerId)).toMatchObject({ state: 'TASK_FINISHED' });
    expect(read(path.join(view.sandbox, 'stdout'))).toBe('script ran with now\n');
    expect(fs.statSync(path.join(view.sandbox, 'run.sh')).mode & 0o111).toBe(0o111);
  });

  it('extracts a tar.gz and a zip into the sandbox (and leaves an archive alone with extract: false)', async () => {
    const r = rig();
    const view = await r.launch(
      task('archives', {
        value: 'app/bin/tool.sh && cat app/README zipped/data.txt && test -f kept.tar.gz && test ! -e kept',
        uris: [
          { value: `${base}/app.tar.gz` },
          { value: path.join(files, 'data.zip'), extract: true },
          { value: `${base}/app.tar.gz`, output_file: 'kept.tar.gz', extract: false },
        ],
      }),
    );
    const t = await r.c.wait(view.containerId);
    expect({ ...t, stderr: read(path.join(view.sandbox, 'stderr')) }).toMatchObject({ state: 'TASK_FINISHED', stderr: '' });
    expect(read(path.join(view.sandbox, 'stdout'))).toBe('tool\nreadme\nzipped data\n');
  });

  it('extracts .tar.xz and .tbz2 archives into the sandbox', async () => {
    const r = rig();
    for (const [id, uri] of [['xz', `${base}/app.tar.xz`], ['bz', path.join(files, 'app.tbz2')]]) {
      const view = await r.launch(task(id, { value: 'ls app', uris: [{ value: uri, output_file: `archives/${path.basename(uri)}` }] }));
      expect(await r.c.wait(view.containerId)).toMatchObject({ state: 'TASK_FINISHED' });
      expect(read(path.join(view.sandbox, 'stdout'))).toBe('README\nbin\n');
    }
  });

  it('fails the launch naming the URI when a download fails or a file is missing', async () => {
    const r = rig();
    expect(await failure(r, [{ value: `${base}/nope.txt` }], 'http404')).toEqual({
      state: 'TASK_FAILED',
      reason: 'REASON_CONTAINER_LAUNCH_FAILED',
      message: `fetching ${base}/nope.txt: HTTP 404 Not Found`,
    });
    expect((await failure(r, [{ value: '/no/such/file.txt' }], 'nofile')).message).toBe('fetching /no/such/file.txt: /no/such/file.txt does not exist on the agent');
    const closed = http.createServer();
    await new Promise<void>((res) => closed.listen(0, '127.0.0.1', res));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((res) => closed.close(res));
    expect((await failure(r, [{ value: `http://127.0.0.1:${port}/x` }], 'refused')).message).toMatch(new RegExp(`^fetching http://127.0.0.1:${port}/x: .*ECONNREFUSED`));
    expect((await failure(r, [{ value: 'hdfs://namenode/x' }], 'scheme')).message).toContain('unsupported URI');
    expect((await failure(r, [{ value: 'relative/path' }], 'relative')).message).toContain('unsupported URI');
    expect(r.c.containers()).toEqual([]);
  });

  it('refuses output_file that leaves the sandbox (.., absolute, nested ..)', async () => {
    const r = rig();
    const outside = path.join(r.workDir, 'escaped.txt');
    for (const [i, output] of ['../escaped.txt', outside, 'a/../../escaped.txt', '..', 'sub/../../../etc/x'].entries()) {
      const f = await failure(r, [{ value: path.join(files, 'hello.txt'), output_file: output }], `escape${i}`);
      expect(f.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
      expect(f.message).toMatch(/output_file ".*" (contains "\.\."|is absolute)/);
    }
    expect(fs.existsSync(outside)).toBe(false);
    expect(fs.existsSync(path.join(r.workDir, 'sandboxes', 'escaped.txt'))).toBe(false);
  });

  it('never writes through a symbolic link an earlier URI put in the sandbox (file, directory, or the file itself)', async () => {
    const r = rig();
    const outside = tempDir();
    const links = path.join(tempDir(), 'links');
    fs.mkdirSync(links);
    fs.symlinkSync(path.join(outside, 'victim.txt'), path.join(links, 'hello.txt'));
    fs.symlinkSync(outside, path.join(links, 'dir'));
    const tarball = path.join(files, 'links.tar');
    execFileSync('tar', ['-cf', tarball, '-C', links, 'hello.txt', 'dir']);
    for (const [i, second] of [{ value: path.join(files, 'hello.txt') }, { value: `${base}/hello.txt`, output_file: 'dir/sub/x.txt' }, { value: `${base}/run.sh`, output_file: 'dir/run.sh', executable: true }].entries()) {
      const f = await failure(r, [{ value: tarball }, second], `links${i}`);
      expect(f.message).toMatch(/leads out of the sandbox through a symbolic link/);
    }
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it('extracts no zip or tar entry through a symbolic link the archive itself made to outside the sandbox', async () => {
    // Each archive: a link to a dir outside then a file under it, and a link to a file outside then a file of that name.
    const craft = `import sys, io, stat, tarfile, zipfile
kind, out, dest = sys.argv[1:]
if kind == 'zip':
    with zipfile.ZipFile(dest, 'w') as z:
        for name, target in (('out', out), ('victim', out + '/victim.txt')):
            i = zipfile.ZipInfo(name); i.create_system = 3; i.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(i, target)
        z.writestr('out/pwned.txt', 'pwned')
        z.writestr('victim', 'pwned')
else:
    with tarfile.open(dest, 'w') as t:
        for name, target in (('out', out), ('victim', out + '/victim.txt')):
            i = tarfile.TarInfo(name); i.type = tarfile.SYMTYPE; i.linkname = target; t.addfile(i)
        for name in ('out/pwned.txt', 'victim'):
            i = tarfile.TarInfo(name); i.size = 5; t.addfile(i, io.BytesIO(b'pwned'))
`;
    for (const kind of ['zip', 'tar']) {
      const outside = tempDir();
      fs.writeFileSync(path.join(outside, 'victim.txt'), 'orig');
      const archive = path.join(tempDir(), `evil.${kind}`);
      execFileSync('python3', ['-c', craft, kind, outside, archive]);
      const sandbox = tempDir();
      // unzip ("exists but is not directory") and GNU tar ("Not a directory") refuse the entries: the fetch fails, nothing lands outside
      await expect(fetchOne({ value: archive }, sandbox)).rejects.toThrow(kind === 'zip' ? /^unzip failed/ : /^tar failed/);
      expect([kind, fs.readdirSync(outside)]).toEqual([kind, ['victim.txt']]);
      expect(fs.readFileSync(path.join(outside, 'victim.txt'), 'utf8')).toBe('orig');
    }
  });

  it('fails a download that takes longer than the fetch timeout', async () => {
    const r = makeRig({ fetchTimeoutMs: 300 });
    rigs.push(r);
    expect((await failure(r, [{ value: `${base}/slow` }], 'slow')).message).toBe(`fetching ${base}/slow: no answer within 300 ms`);
  });

  it('a kill during the fetch ends the launch with TASK_KILLED (REASON_TASK_KILLED_DURING_LAUNCH)', async () => {
    const r = rig();
    const launching = r.launch(task('killfetch', { value: 'true', uris: [{ value: `${base}/slow` }] }));
    await new Promise((res) => setTimeout(res, 100));
    const killed = r.c.kill('c-killfetch', { gracePeriodMs: 1000 });
    await expect(launching).rejects.toMatchObject({
      failure: { state: 'TASK_KILLED', reason: 'REASON_TASK_KILLED_DURING_LAUNCH' },
    });
    await killed;
    expect(await r.c.wait('c-killfetch')).toMatchObject({ state: 'TASK_KILLED', reason: 'REASON_TASK_KILLED_DURING_LAUNCH' });
  });
});
