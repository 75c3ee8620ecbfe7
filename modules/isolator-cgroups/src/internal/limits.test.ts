import { cfsQuotaUs, countLines, cpuMax, cpuShares, cpuWeight, formatBytes, limitsOf, parseKeyValues, parsePids, MIN_MEMORY_BYTES } from './limits';

const MB = 1024 * 1024;
const r = (name: string, value: number) => ({ name, type: 'SCALAR' as const, scalar: { value } });

describe('cgroup limits from resources (Mesos constants)', () => {
  it('cpu.shares is 1024 per CPU, at least 2', () => {
    expect(cpuShares(0.5)).toBe(512);
    expect(cpuShares(1)).toBe(1024);
    expect(cpuShares(2.25)).toBe(2304);
    expect(cpuShares(0.001)).toBe(2);
  });

  it('the CFS quota is cpus x 100 ms, at least 1 ms; unlimited is -1 / "max"', () => {
    expect(cfsQuotaUs(0.5)).toBe(50_000);
    expect(cfsQuotaUs(4)).toBe(400_000);
    expect(cfsQuotaUs(0.001)).toBe(1_000);
    expect(cfsQuotaUs(Infinity)).toBe(-1);
    expect(cpuMax(0.5)).toBe('50000 100000');
    expect(cpuMax(Infinity)).toBe('max 100000');
  });

  it('cpu.weight follows the kernel mapping from shares', () => {
    expect(cpuWeight(0.5)).toBe(50);
    expect(cpuWeight(1)).toBe(100);
    expect(cpuWeight(4)).toBe(400);
    expect(cpuWeight(0.001)).toBe(1);
    expect(cpuWeight(1000)).toBe(10_000);
  });

  it('memory: hard limit at least 32 MB, soft limit the request; limits replace the request for the hard limit', () => {
    expect(limitsOf([r('cpus', 0.5), r('mem', 64)])).toEqual({ cpus: 0.5, cpuLimit: 0.5, memLimitBytes: 64 * MB, memSoftLimitBytes: 64 * MB });
    expect(limitsOf([r('mem', 16)])).toEqual({ memLimitBytes: MIN_MEMORY_BYTES, memSoftLimitBytes: MIN_MEMORY_BYTES }); // both at least 32 MB, as Mesos
    expect(limitsOf([r('cpus', 1), r('cpus', 0.5), r('disk', 10)])).toEqual({ cpus: 1.5, cpuLimit: 1.5 });
    expect(limitsOf([r('cpus', 1), r('mem', 64)], { cpus: { value: 2 }, mem: { value: Infinity } })).toEqual({
      cpus: 1,
      cpuLimit: 2,
      memLimitBytes: Infinity,
      memSoftLimitBytes: 64 * MB,
    });
    expect(limitsOf(undefined)).toEqual({});
  });

  it('writes bytes as Mesos does', () => {
    expect(formatBytes(64 * MB)).toBe('64MB');
    expect(formatBytes(3 * 1024 * MB)).toBe('3GB');
    expect(formatBytes(1536)).toBe('1536B');
    expect(formatBytes(66_060_288)).toBe('63MB');
    expect(formatBytes(66_064_384)).toBe('64516KB');
    expect(formatBytes(0)).toBe('0B');
  });

  it('parses interface files', () => {
    expect(parseKeyValues('user 12\nsystem 3\n')).toEqual(new Map([['user', 12], ['system', 3]]));
    expect(countLines('1\n2\n3\n')).toBe(3);
    expect(countLines('')).toBe(0);
    expect(parsePids('10\n20\n\n')).toEqual([10, 20]);
  });
});
