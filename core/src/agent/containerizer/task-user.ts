/**
 * Who a container runs as, as Mesos's `os::su` makes it: the user's uid, its primary gid and its
 * supplementary groups (initgroups), with `USER`, `LOGNAME` and `HOME` set for it. Users and groups are
 * read from /etc/passwd and /etc/group. The groups are set by util-linux's `setpriv` in front of the
 * container's shim (Node's spawn can set a uid and gid but clears the supplementary groups); without
 * `setpriv` a task gets its primary group only, and {@link taskGroups} says so, so that every check the
 * agent makes for the user (the sandbox it must reach, the files it may fetch) uses the groups the task
 * really has. The fetch worker sets the same groups itself.
 *
 * ```ts
 * const user = lookupUser('alice');                     // { uid, gid, home }
 * const groups = taskGroups('alice', user.gid);        // [1000, 998] (with setpriv)
 * const { file, args, ids } = asUser({ ...user, groups }, ['/bin/sh', shim, ...]);
 * ```
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** UserIds are a user's numeric ids and home. */
export interface UserIds {
  uid: number;
  gid: number;
  home: string;
}

/** lookupUser finds a user in /etc/passwd; undefined when there is no such user. */
export function lookupUser(name: string, passwd = '/etc/passwd'): UserIds | undefined {
  let text: string;
  try {
    text = fs.readFileSync(passwd, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 7) return { uid: Number(f[2]), gid: Number(f[3]), home: f[5] };
  }
  return undefined;
}

/** groupsOf lists a user's group ids: its primary group and those /etc/group lists it in. */
export function groupsOf(name: string, primary: number, groupFile = '/etc/group'): number[] {
  const out = new Set([primary]);
  try {
    for (const line of fs.readFileSync(groupFile, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 4 && f[3].split(',').includes(name)) out.add(Number(f[2]));
    }
  } catch {
    // no group file: the primary group only
  }
  return [...out];
}

let setprivPath: string | null | undefined;

/** setpriv is util-linux's setpriv where installed (checked once), else undefined. */
export function setpriv(): string | undefined {
  if (setprivPath === undefined) setprivPath = ['/usr/bin/setpriv', '/bin/setpriv', '/usr/sbin/setpriv', '/sbin/setpriv'].find((p) => fs.existsSync(p)) ?? null;
  return setprivPath ?? undefined;
}

/** taskGroups are the groups a task of `name` runs with: all of its groups with setpriv, else the primary only. */
export function taskGroups(name: string, primary: number): number[] {
  return setpriv() ? groupsOf(name, primary) : [primary];
}

/** TaskUser is a user a container runs as, with the groups it gets. */
export interface TaskUser extends UserIds {
  name: string;
  groups: number[];
}

/**
 * asUser turns an argv into the program that runs it as `user`: setpriv with the user's ids and groups
 * in front (it execs, so the pid stays the command's), or, without setpriv, the argv itself with the
 * uid and gid for Node's spawn (no supplementary groups).
 */
export function asUser(user: TaskUser, argv: string[]): { file: string; args: string[]; ids?: { uid: number; gid: number } } {
  const sp = setpriv();
  if (sp) return { file: sp, args: [`--reuid=${user.uid}`, `--regid=${user.gid}`, `--groups=${user.groups.join(',')}`, '--', ...argv] };
  return { file: argv[0], args: argv.slice(1), ids: { uid: user.uid, gid: user.gid } };
}

/** userEnvironment is what Mesos sets for the user a task runs as: USER, LOGNAME and HOME. */
export function userEnvironment(name: string, home: string | undefined): Record<string, string> {
  return { USER: name, LOGNAME: name, ...(home ? { HOME: home } : {}) };
}

/** agentHome is the home of the user the agent runs as (for tasks that run as that user). */
export function agentHome(): string | undefined {
  try {
    return os.userInfo().homedir || undefined;
  } catch {
    return undefined;
  }
}

/**
 * blockedDirectory finds the first directory above `target` that the user cannot pass through (no
 * search permission for its uid, its groups, or others): a task running as that user could not reach
 * its sandbox. `groups` are the group ids the task has. Undefined when all pass.
 */
export function blockedDirectory(target: string, ids: { uid: number; groups: readonly number[] }): { dir: string; mode: number; uid: number; gid: number } | undefined {
  const chain: string[] = [];
  for (let d = path.dirname(path.resolve(target)); ; d = path.dirname(d)) {
    chain.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const dir of chain) {
    let st: fs.Stats;
    try {
      st = fs.statSync(dir);
    } catch {
      return undefined; // not there yet: made for the task later, nothing to say now
    }
    const bit = st.uid === ids.uid ? 0o100 : ids.groups.includes(st.gid) ? 0o010 : 0o001;
    if (ids.uid !== 0 && (st.mode & bit) === 0) return { dir, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  }
  return undefined;
}
