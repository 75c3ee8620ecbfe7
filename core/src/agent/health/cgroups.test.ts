// Which cgroups a COMMAND check joins: those of its container that differ from the agent's own.
import { cgroupProcsToJoin, parseCgroupMounts, parseProcCgroup } from './cgroups';

const MOUNTINFO = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory,clone_children',
  '39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
  '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
  '41 31 0:38 /outer /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');

const AGENT = ['5:name=systemd:/agent.service', '4:pids:/', '3:memory:/agent', '2:cpu,cpuacct:/', '0::/outer/agent'].join('\n');

describe('cgroupProcsToJoin', () => {
  it('joins the container cgroups an isolator made (v1 and v2), not the ones it shares with the agent nor named hierarchies', () => {
    const container = ['5:name=systemd:/elsewhere', '4:pids:/tessera/c1', '3:memory:/agent', '2:cpu,cpuacct:/tessera/c1', '0::/outer/tessera/c1/leaf'].join('\n');
    expect(cgroupProcsToJoin(parseProcCgroup(container), parseProcCgroup(AGENT), parseCgroupMounts(MOUNTINFO))).toEqual([
      '/sys/fs/cgroup/pids/tessera/c1/cgroup.procs',
      '/sys/fs/cgroup/cpu,cpuacct/tessera/c1/cgroup.procs',
      '/sys/fs/cgroup/unified/tessera/c1/leaf/cgroup.procs',
    ]);
  });

  it('joins nothing for a container in the agent\'s own cgroups (no cgroup isolator)', () => {
    expect(cgroupProcsToJoin(parseProcCgroup(AGENT), parseProcCgroup(AGENT), parseCgroupMounts(MOUNTINFO))).toEqual([]);
  });

  it('skips a cgroup outside what its mount shows, and a hierarchy that is not mounted', () => {
    const container = ['0::/other/c1', '7:freezer:/tessera/c1'].join('\n');
    expect(cgroupProcsToJoin(parseProcCgroup(container), parseProcCgroup(AGENT), parseCgroupMounts(MOUNTINFO))).toEqual([]);
  });
});
