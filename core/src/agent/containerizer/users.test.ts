import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { blockedDirectory, groupsOf, lookupUser } from './task-user';

describe('task users', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'task-users-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads a user from passwd and its groups, primary and supplementary, from group', () => {
    fs.writeFileSync(path.join(dir, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n');
    fs.writeFileSync(path.join(dir, 'group'), 'root:x:0:\nalice:x:1000:\ndocker:x:998:bob,alice\nvideo:x:44:bob\n');
    expect(lookupUser('alice', path.join(dir, 'passwd'))).toEqual({ uid: 1000, gid: 1000, home: '/home/alice' });
    expect(lookupUser('carol', path.join(dir, 'passwd'))).toBeUndefined();
    expect(groupsOf('alice', 1000, path.join(dir, 'group')).sort()).toEqual([1000, 998]);
    expect(groupsOf('alice', 1000, path.join(dir, 'no-such-file'))).toEqual([1000]);
  });

  it('finds the first directory a user cannot pass through on the way to a target, by owner, group and other bits', () => {
    const a = path.join(dir, 'a');
    const b = path.join(a, 'b');
    fs.mkdirSync(b, { recursive: true });
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(a, 0o750);
    const target = path.join(b, 'sandbox');
    const { uid, gid } = fs.statSync(a);
    // Not the owner, not in the group: "other" has no x on a.
    expect(blockedDirectory(target, { uid: uid + 12345, groups: [gid + 12345] })).toEqual({ dir: a, mode: 0o750, uid, gid });
    // In the group: passes.
    expect(blockedDirectory(target, { uid: uid + 12345, groups: [gid] })).toBeUndefined();
    fs.chmodSync(a, 0o701);
    expect(blockedDirectory(target, { uid: uid + 12345, groups: [] })).toBeUndefined();
    // Root passes everything; a path not made yet says nothing.
    fs.chmodSync(a, 0o700);
    expect(blockedDirectory(target, { uid: 0, groups: [0] })).toBeUndefined();
    expect(blockedDirectory(path.join(dir, 'not', 'yet', 'there'), { uid: uid + 12345, groups: [] })).toBeUndefined();
  });
});
