import { negotiableVersions, negotiate } from './negotiate';
import { supportedUpTo } from './start';
import { TesseraError } from '../errors';
import type { ModuleInfo } from '../generated/types';

const info = (builtAgainst: string, accepts: string): ModuleInfo => ({
  name: 'm',
  version: '1.0.0',
  kinds: [{ kind: 'isolator', builtAgainst, accepts, capabilities: ['usage'] }],
});

describe('negotiation', () => {
  const core13 = { version: '0.9.0', abi: supportedUpTo('1.3.2').isolator };

  it('a core at ABI 1.3 still speaks every earlier minor', () => {
    expect(core13.abi).toEqual(['1.0.0', '1.1.0', '1.2.0', '1.3.0']);
  });

  it('picks the highest version in both ranges, never above what the module was built against', () => {
    expect(negotiate('m', info('1.0.0', '^1.0.0'), 'isolator', core13).version).toBe('1.0.0');
    expect(negotiate('m', info('1.2.5', '^1.0.0'), 'isolator', core13).version).toBe('1.2.0');
    expect(negotiate('m', info('1.7.0', '^1.0.0'), 'isolator', core13).version).toBe('1.3.0');
    expect(negotiate('m', info('1.7.0', '^1.2.0'), 'isolator', core13)).toMatchObject({ version: '1.3.0', capabilities: ['usage'] });
  });

  it('explains a module that needs a newer minor than the core has, naming the versions that would work', () => {
    expect(() => negotiate('m', info('1.7.0', '^1.5.0'), 'isolator', core13)).toThrow(
      new TesseraError(
        'TSR_ABI_NO_OVERLAP',
        'module m (m 1.0.0) was built for isolator ABI 1.7.0 and accepts ^1.5.0, but this core (0.9.0) supports isolator ABI 1.0–1.3: ' +
          'upgrade to a core release that supports isolator ABI 1.5, or use a release of m built for isolator ABI 1.0–1.3 ' +
          '(this build needs isolator ABI 1.5 or a later 1.x)',
      ),
    );
  });

  it('does not offer "a 1.x build" to a 1.x build: it names the core range a module release must be built for', () => {
    const core11 = { version: '0.1.0', abi: supportedUpTo('1.1.0').isolator };
    expect(() => negotiate('m', info('1.3.0', '^1.3.0'), 'isolator', core11)).toThrow(
      'supports isolator ABI 1.0–1.1: upgrade to a core release that supports isolator ABI 1.3, ' +
        'or use a release of m built for isolator ABI 1.0–1.1 (this build needs isolator ABI 1.3 or a later 1.x)',
    );
    expect(() => negotiate('m', info('2.0.0', '^2.0.0'), 'isolator', core11)).toThrow(
      'upgrade to a core release that supports isolator ABI 2.0, or use a release of m built for isolator ABI 1.0–1.1 (this build needs isolator ABI 2.0 or a later 2.x)',
    );
  });

  it('explains a module older than the core supports', () => {
    const core2 = { version: '2.0.0', abi: ['2.0.0', '2.1.0'] };
    expect(() => negotiate('m', info('1.4.0', '^1.2.0'), 'isolator', core2)).toThrow(
      'supports isolator ABI 2.0–2.1: use a release of m built for isolator ABI 2.0–2.1 ' +
        '(this build speaks isolator ABI 1.2–1.4 only, older than this core supports), or a core release that supports isolator ABI 1.2',
    );
  });

  it('says when no core can load a build, because its range lies above what it was built against', () => {
    expect(() => negotiate('m', info('1.1.0', '^1.3.0'), 'isolator', core13)).toThrow(
      'this build accepts no isolator ABI version at or below the 1.1.0 it was built against, so no core can load it',
    );
  });

  it('lists the versions a build can negotiate: its own major, at or below built_against, inside its range', () => {
    expect(negotiableVersions('^1.0.0', '1.1.0')).toEqual(['1.0.0', '1.1.0']);
    expect(negotiableVersions('~1.0.0', '1.3.2')).toEqual(['1.0.0']);
    expect(negotiableVersions('^1.3.0', '1.1.0')).toEqual([]);
    expect(negotiableVersions('^2.0.0', '1.1.0')).toEqual([]);
    expect(negotiableVersions('not a range', '1.1.0')).toEqual([]);
  });
});
