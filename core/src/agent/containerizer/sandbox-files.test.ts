import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appendSandboxFile, createSandboxOutputs, openSandboxOutput } from './sandbox-files';

describe('sandbox files the agent writes (stdout, stderr)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-files-'));
  const outside = path.join(dir, 'outside');
  const sandbox = path.join(dir, 'sandbox');
  beforeAll(() => {
    fs.mkdirSync(sandbox);
    fs.writeFileSync(outside, 'untouched', { mode: 0o600 });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates stdout and stderr as regular files and hands them, with the sandbox, to the task user', () => {
    createSandboxOutputs(sandbox, { uid: 65534, gid: 65534 });
    for (const f of ['stdout', 'stderr']) expect(fs.lstatSync(path.join(sandbox, f))).toMatchObject({ uid: 65534, gid: 65534, size: 0 });
    expect(fs.statSync(sandbox).uid).toBe(65534);
  });

  it('never follows a link, never waits on a FIFO, and refuses a hard link to a file elsewhere; each refusal names the file', () => {
    const link = path.join(sandbox, 'link');
    fs.symlinkSync(outside, link);
    expect(() => openSandboxOutput(link)).toThrow(`the sandbox's link (${link}) is a symbolic link (to ${outside}), not a regular file`);
    expect(appendSandboxFile(link, 'x')).toBe(false);
    const fifo = path.join(sandbox, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(() => openSandboxOutput(fifo)).toThrow(/the sandbox's fifo .* is a FIFO or socket, not a regular file/);
    const hard = path.join(sandbox, 'hard');
    fs.linkSync(outside, hard);
    expect(() => openSandboxOutput(hard)).toThrow(/the sandbox's hard .* has 2 hard links/);
    fs.mkdirSync(path.join(sandbox, 'dir'));
    expect(() => openSandboxOutput(path.join(sandbox, 'dir'))).toThrow(/is a directory|EISDIR/);
    expect(fs.readFileSync(outside, 'utf8')).toBe('untouched');
    expect(appendSandboxFile(path.join(sandbox, 'stderr'), 'Failed to launch\n')).toBe(true);
    expect(fs.readFileSync(path.join(sandbox, 'stderr'), 'utf8')).toBe('Failed to launch\n');
  });
});
