import { parseFlags, type FlagSpec } from './flags';

const SPECS: Record<string, FlagSpec> = {
  port: { type: 'int', default: '5050', min: 0, max: 65535, help: '' },
  agent_ping_timeout: { type: 'duration', default: '15secs', positive: true, help: '' },
  ip: { type: 'string', default: '0.0.0.0', help: '' },
  quiet: { type: 'bool', default: 'false', help: '' },
  offer_timeout: { type: 'duration', help: '' },
  work_dir: { type: 'string', help: '' },
};

describe('Mesos-style flags', () => {
  it('reads --name=value, --name value, booleans and Mesos durations', () => {
    const { values, positional } = parseFlags(['--port=6060', '--ip', '10.0.0.1', '--quiet', '--offer_timeout=2mins', 'extra'], SPECS, {});
    expect(values).toEqual({ port: 6060, ip: '10.0.0.1', quiet: true, offer_timeout: 120_000, agent_ping_timeout: 15_000 });
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

  it('refuses values out of range and flags given twice, naming where the value came from', () => {
    expect(() => parseFlags(['--port=99999'], SPECS, {})).toThrow("flag --port '99999': must be at most 65535");
    expect(() => parseFlags([], SPECS, { TESSERA_PORT: '-1' })).toThrow("environment variable TESSERA_PORT '-1': must be at least 0");
    expect(() => parseFlags(['--agent_ping_timeout=0secs'], SPECS, {})).toThrow("flag --agent_ping_timeout '0secs': must be longer than 0");
    expect(() => parseFlags(['--port=1', '--port', '2'], SPECS, {})).toThrow("flag --port is given twice ('1' and '2'): give it once");
    expect(parseFlags([], SPECS, { TESSERA_PORT: '7070' }).sources.port).toBe('environment variable TESSERA_PORT');
  });

  it('points Mesos\'s deprecated "slave" flags to their "agent" names', () => {
    expect(() => parseFlags(['--slave_ping_timeout=5secs'], SPECS, {})).toThrow("unknown flag --slave_ping_timeout; Mesos's deprecated --slave_ping_timeout is --agent_ping_timeout here");
  });
});
