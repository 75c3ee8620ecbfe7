import { spawn, spawnSync } from 'node:child_process';
import { buildSync } from 'esbuild';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DirLock, type LockOwner } from './dir-lock';

const busy = (owner: LockOwner) => new Error(`busy: pid ${owner.pid}`);

describe('DirLock', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dir-lock-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses a directory a live process holds, naming its pid; takes it once that process is gone', async () => {
    // Another process takes the lock (the module's own code, run by node) and keeps running.
    const code = buildSync({ entryPoints: [path.join(__dirname, 'dir-lock.ts')], bundle: true, platform: 'node', format: 'cjs', write: false }).outputFiles[0].text;
    const holder = spawn(process.execPath, ['-e', `const m = { exports: {} }; (function (module, exports) { ${code} })(m, m.exports);
      m.exports.DirLock.acquire(${JSON.stringify(dir)}, () => new Error('x'));
      console.log('locked');
      setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
    expect(() => DirLock.acquire(dir, busy)).toThrow(`busy: pid ${holder.pid}`);
    holder.kill('SIGKILL'); // a crash: the LOCK file stays behind
    await new Promise((r) => holder.once('exit', r));
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(true);
    const lock = DirLock.acquire(dir, busy);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
  });

  it('refuses a second holder in the same process until the first releases', () => {
    const first = DirLock.acquire(dir, busy);
    expect(() => DirLock.acquire(dir, busy)).toThrow(`busy: pid ${process.pid}`);
    first.release();
    DirLock.acquire(dir, busy).release();
  });

  it('takes over a lock whose pid was recycled (another start time) or whose file is garbage', () => {
    const exited = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }); // a pid that has exited
    fs.writeFileSync(path.join(dir, 'LOCK'), JSON.stringify({ pid: 1, startTime: 123456789, since: 'then' }));
    DirLock.acquire(dir, busy).release();
    fs.writeFileSync(path.join(dir, 'LOCK'), 'not json');
    DirLock.acquire(dir, busy).release();
    fs.writeFileSync(path.join(dir, 'LOCK'), JSON.stringify({ pid: Number(exited.stdout), startTime: 1, since: 'then' }));
    DirLock.acquire(dir, busy).release();
  });
});
