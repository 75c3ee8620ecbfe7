import { logLevelOf } from '../cli';

describe('the log level every command takes', () => {
  it('reads --log_level=L, --log_level L and TESSERA_LOG_LEVEL; --quiet in every spelling means warn', () => {
    expect(logLevelOf(['master', '--log_level=debug', '--port=1'], {})).toEqual({ level: 'debug', rest: ['master', '--port=1'] });
    expect(logLevelOf(['master', '--log_level', 'error'], {})).toEqual({ level: 'error', rest: ['master'] });
    expect(logLevelOf(['master'], { TESSERA_LOG_LEVEL: 'warn' })).toMatchObject({ level: 'warn' });
    for (const quiet of ['--quiet', '--quiet=true', '--quiet=1']) expect(logLevelOf(['agent', quiet], {})).toEqual({ level: 'warn', rest: ['agent', quiet] });
    expect(logLevelOf(['agent'], { TESSERA_QUIET: '1' })).toMatchObject({ level: 'warn' });
    expect(logLevelOf(['agent', '--quiet=false'], { TESSERA_QUIET: 'true' })).toMatchObject({ level: 'info' });
  });

  it('names where a bad level came from', () => {
    expect(logLevelOf(['master'], { TESSERA_LOG_LEVEL: 'loud' })).toEqual({ error: "environment variable TESSERA_LOG_LEVEL 'loud': must be one of debug, info, warn, error" });
    expect(logLevelOf(['master', '--log_level=loud'], {})).toEqual({ error: "flag --log_level 'loud': must be one of debug, info, warn, error" });
    expect(logLevelOf(['master', '--log_level'], {})).toEqual({ error: 'flag --log_level needs a value: debug, info, warn or error' });
    expect(logLevelOf(['master', '--log_level=info', '--log_level=warn'], {})).toMatchObject({ error: expect.stringMatching(/given twice/) });
  });
});
