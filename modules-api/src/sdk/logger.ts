// The module-side logger: JSON lines on stderr, which the core forwards into its log under the
// module's name, keeping the level.
import type { Logger } from './handlers';

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** LevelledLogger is a Logger whose level the core sets at Configure. */
export interface LevelledLogger extends Logger {
  /** setLevel drops lines below a level (debug, info, warn, error); unknown names are ignored. */
  setLevel(level: string): void;
}

/** jsonLineLogger writes one JSON object per line: {"level","msg",...fields}. */
export function jsonLineLogger(write: (line: string) => void = (l) => process.stderr.write(l), minLevel: Level = 'debug'): LevelledLogger {
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < ORDER[minLevel]) return;
    write(JSON.stringify({ level, msg, ...fields }) + '\n');
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    setLevel: (level) => {
      if (level in ORDER) minLevel = level as Level;
    },
  };
}
