// validateDefinition: what serve() refuses before the module ever starts, each problem named.
import { ABI_VERSION } from '../version';
import { validateDefinition } from './server';
import type { ModuleDefinition } from './handlers';

// The ranges are built around the SDK's own ABI, so the test keeps its meaning when the package version moves.
const [major, minor] = ABI_VERSION.split('.').map(Number);
const above = `^${major}.${minor + 2}.0`;
const isolator = { prepare: async () => undefined, cleanup: async () => undefined };
const def = (abi?: Record<string, string>): ModuleDefinition<never> => ({ name: 'isolator-hello', version: '1.0.0', isolator, ...(abi ? { abi } : {}) });

describe('validateDefinition', () => {
  it('accepts the default range and ranges that include the built-against ABI or lie below it', () => {
    for (const range of [undefined, `^${major}.0.0`, `^${ABI_VERSION}`, `~${major}.0.0`, `>=${major}.0.0 <=${ABI_VERSION}`, `${major}.0.0 || ^${major + 1}.0.0`]) {
      expect(() => validateDefinition(def(range ? { isolator: range } : undefined))).not.toThrow();
    }
  });

  it('refuses a range above the built-against ABI, which no core would load, saying which ranges would do', () => {
    const speaks = minor === 0 ? `${major}.0` : `${major}.0–${major}.${minor}`;
    expect(() => validateDefinition(def({ isolator: above }))).toThrow(
      `module definition isolator-hello: abi.isolator: "${above}" accepts no ABI version this build can speak, so no core would load it: ` +
        `negotiation never goes above the ABI the SDK was built against (${ABI_VERSION}). Give a range that includes ${ABI_VERSION} or lies below it ` +
        `(it must accept one of ${speaks}, e.g. "^${ABI_VERSION}"), or build with @tessera/modules-api ${major}.${minor + 2}.0 or later, whose ABI the range asks for`,
    );
    expect(() => validateDefinition(def({ isolator: `^${major + 1}.0.0` }))).toThrow(`build with @tessera/modules-api ${major + 1}.0.0 or later`);
  });

  it('refuses a range that only names patch versions no core negotiates, without suggesting another SDK', () => {
    const run = (): void => validateDefinition(def({ isolator: `${major}.0.5` }));
    expect(run).toThrow(`abi.isolator: "${major}.0.5" accepts no ABI version this build can speak`);
    expect(run).not.toThrow(/build with @tessera\/modules-api/);
  });

  it('still names the other problems: bad ranges and kinds not implemented', () => {
    expect(() => validateDefinition(def({ isolator: 'one', hook: '^1.0.0' }))).toThrow(
      'abi.isolator: "one" is not a semver range; abi.hook: the module does not implement kind "hook"',
    );
  });
});
