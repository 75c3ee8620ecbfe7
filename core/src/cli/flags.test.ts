import { parseFlags, type FlagSpec } from './flags';

const SPECS: Record<string, FlagSpec> = {
  port: { type: 'int', default: '5050', help: '' },
  ip: { type: 'string', default: '0.0.0.0', help: '' },
  quiet: { type: 'bool', default: 'false', help: '' },
  offer_timeout: { type: 'duration', help: '' },
  work_dir: { type: 'string', help: '' },
};

describe('Mesos-style flags', () => {
  it('reads --name=value, --name value, booleans and Mesos durations', () => {
    const { values, positional } = parseFlags(['--port=6060', '--ip', '10.0.0.1', '--quiet', '--offer_timeout=2mins', 'extra'], SPECS, {});
    expect(values).toEqual({ port: 6060, ip: '10.0.0.1', quiet: true, offer_timeout: 120_000 });
    expect(positional).toEqual(['extra']);
    expect(parseFlags(['--no-quiet', '--offer_timeout=500ms'], SPECS, {}).values).toMatchObject({ quiet: false, offer_timeout: 500 });
  });

  it('takes TESSERA_<FLAG> from the environment, with the flag winning', () => {
    expect(parseFlags([], SPECS, { TESSERA_PORT: '7070', TESSERA_WORK_DIR: '/var/lib/t' }).values).toMatchObject({ port: 7070, work_dir: '/var/lib/t' });
    expect(parseFlags(['--port=8080'], SPECS, { TESSERA_PORT: '7070' }).values.port).toBe(8080);
  });

  it('names the flag, the bad value and what it takes', () => {
    expect(() => parseFlags(['--port=abc'], SPECS, {})).toThrow("flag --port 'abc': must be a whole number");
    expect(() => parseFlags(['--offer_timeout=soon'], SPECS, {})).toThrow(/flag --offer_timeout 'soon': must be a duration such as 15secs/);
    expect(() => parseFlags([], SPECS, { TESSERA_PORT: 'x' })).toThrow("environment variable TESSERA_PORT 'x': must be a whole number");
    expect(() => parseFlags(['--prot=1'], SPECS, {})).toThrow('unknown flag --prot; did you mean --port?');
    expect(() => parseFlags(['--work_dir'], SPECS, {})).toThrow('flag --work_dir needs a value');
  });
});
