import { controlDevices, nodeNumbers, parseProcDevices } from './device-nodes';

const PROC_DEVICES = `Character devices:
  1 mem
  5 /dev/tty
195 nvidia-frontend
195 nvidia
236 nvidia-caps
508 nvidia-uvm

Block devices:
  7 loop
508 nvidia-uvm-block
`;

describe('device nodes', () => {
  it('reads character majors of /proc/devices (not block ones)', () => {
    const m = parseProcDevices(PROC_DEVICES);
    expect(m.get('nvidia-uvm')).toBe(508);
    expect(m.get('nvidia-frontend')).toBe(195);
    expect(m.has('loop')).toBe(false);
  });

  it('reads a node\'s major:minor, and nothing for a file that is not a character device', () => {
    expect(nodeNumbers('/dev/null')).toEqual({ major: 1, minor: 3 });
    expect(nodeNumbers('/etc/hostname')).toBeUndefined();
    expect(nodeNumbers('/nonexistent')).toBeUndefined();
  });

  it('grants nvidiactl (195:255 when there is no node) and nvidia-uvm / -tools from /proc/devices when loaded', () => {
    expect(controlDevices('/nonexistent', parseProcDevices(PROC_DEVICES))).toEqual([
      { path: '/nonexistent/nvidiactl', major: 195, minor: 255 },
      { path: '/nonexistent/nvidia-uvm', major: 508, minor: 0 },
      { path: '/nonexistent/nvidia-uvm-tools', major: 508, minor: 1 },
    ]);
    expect(controlDevices('/nonexistent', new Map())).toEqual([{ path: '/nonexistent/nvidiactl', major: 195, minor: 255 }]);
  });
});
