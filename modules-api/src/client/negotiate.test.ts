import { negotiate } from './negotiate';
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

  it('explains a module that needs a newer minor than the core has', () => {
    expect(() => negotiate('m', info('1.7.0', '^1.5.0'), 'isolator', core13)).toThrow(
      new TesseraError(
        'TSR_ABI_NO_OVERLAP',
        'module m (m 1.0.0) was built for isolator ABI 1.7.0 and accepts ^1.5.0, but this core (0.9.0) supports isolator ABI 1.0–1.3: ' +
          'upgrade the core to a release that supports isolator ABI ^1.5.0, or use a m release built for isolator ABI 1.x',
      ),
    );
  });

  it('explains a module older than the core supports', () => {
    const core2 = { version: '2.0.0', abi: ['2.0.0', '2.1.0'] };
    expect(() => negotiate('m', info('1.4.0', '^1.0.0'), 'isolator', core2)).toThrow(
      /supports isolator ABI 2\.0–2\.1: use a m release built for isolator ABI 2\.x \(this build is older than the core supports\)/,
    );
  });
});
