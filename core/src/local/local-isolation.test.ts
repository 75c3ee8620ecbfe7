import { parseModulesJson } from '../modules/modules-json';
import { probeCgroupsHost } from './cgroups-host';
import { CGROUPS_CANDIDATE, chooseLocalIsolation, LOCAL_DEFAULT_ISOLATION, LOCAL_ISOLATOR_CANDIDATES, localCgroupsRoot, type IsolatorCandidate } from './local-isolation';

// A candidate backed by a package that is installed in this repository (the allocator stands in for an isolator).
const installed = (hostProblem?: string): IsolatorCandidate => ({ name: 'stand-in', package: '@tessera/allocator-drf', hostProblem: () => hostProblem });
const missing: IsolatorCandidate = { name: 'nowhere', package: '@tessera/no-such-isolator', hostProblem: () => undefined };

describe('chooseLocalIsolation', () => {
  it('runs the POSIX isolators by default, with no modules', () => {
    expect(chooseLocalIsolation({ candidates: [] })).toEqual({ isolation: LOCAL_DEFAULT_ISOLATION });
    expect(LOCAL_DEFAULT_ISOLATION).toEqual(['posix/cpu', 'posix/mem']);
  });

  it('lets --isolation and --modules win', () => {
    const modules = parseModulesJson('{"modules":[{"name":"x","command":["true"]}]}', 'm.json', '/');
    expect(chooseLocalIsolation({ given: ['x', 'posix/mem'], modules, candidates: [installed()] })).toEqual({ isolation: ['x', 'posix/mem'], modules });
    expect(chooseLocalIsolation({ modules, candidates: [installed()] })).toEqual({ isolation: LOCAL_DEFAULT_ISOLATION, modules });
  });

  it('picks up an installed candidate the host allows, in place of the POSIX isolators', () => {
    const choice = chooseLocalIsolation({ candidates: [installed()] });
    expect(choice.isolation).toEqual(['stand-in']);
    expect(choice.modules?.modules).toEqual([{ name: 'stand-in', package: '@tessera/allocator-drf' }]);
    expect(choice.note).toBeUndefined();
  });

  it('says why a candidate is left out', () => {
    expect(chooseLocalIsolation({ candidates: [installed('it needs root'), missing] })).toEqual({
      isolation: LOCAL_DEFAULT_ISOLATION,
      note: 'stand-in isolation is off: it needs root; nowhere isolation is off: @tessera/no-such-isolator is not installed',
    });
  });

  it('gives a candidate its parameters for the work dir, says what it does first, and releases it with the work dir', () => {
    const released: string[] = [];
    const candidate: IsolatorCandidate = {
      ...installed(),
      setup: (workDir) => ({ parameters: { root: `r-${workDir.length}` }, describe: 'stand-in isolator: limits' }),
      release: (workDir) => released.push(workDir),
    };
    const choice = chooseLocalIsolation({ candidates: [candidate, missing], workDir: '/tmp/wd' });
    expect(choice.isolation).toEqual(['stand-in']);
    expect(choice.candidates).toEqual(['stand-in']);
    expect(choice.modules?.modules).toEqual([{ name: 'stand-in', package: '@tessera/allocator-drf', parameters: { root: 'r-7' } }]);
    expect(choice.note).toBe('stand-in isolator: limits; nowhere isolation is off: @tessera/no-such-isolator is not installed');
    choice.release!();
    expect(released).toEqual(['/tmp/wd']);
  });

  it('uses the cgroups isolator by default where the host allows it, with a root of its own per work dir', () => {
    expect(LOCAL_ISOLATOR_CANDIDATES).toEqual([CGROUPS_CANDIDATE]);
    expect(localCgroupsRoot('/tmp/a')).toMatch(/^tessera-local-[0-9a-f]{10}$/);
    expect(localCgroupsRoot('/tmp/a')).toBe(localCgroupsRoot('/tmp/a/'));
    expect(localCgroupsRoot('/tmp/a')).not.toBe(localCgroupsRoot('/tmp/b'));
    const host = probeCgroupsHost();
    const choice = chooseLocalIsolation({ workDir: '/tmp/a' });
    if (host.ok) {
      expect(choice.isolation).toEqual(['cgroups']);
      expect(choice.modules?.modules).toEqual([{ name: 'cgroups', package: '@tessera/isolator-cgroups', parameters: { root: localCgroupsRoot('/tmp/a') } }]);
      expect(choice.note).toBe(`cgroups isolator: cgroup v${host.version}, cpu, memory, pids under root "${localCgroupsRoot('/tmp/a')}"`);
    } else {
      expect(choice).toEqual({ isolation: LOCAL_DEFAULT_ISOLATION, note: `cgroups isolation is off: ${host.problem}` });
    }
  });
});
