/**
 * The core's log: one line per event on stderr, `<time> <LEVEL> [<component>] <message> <fields>`,
 * or JSON lines (option `json`). Module output is forwarded here under the module's name.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Log is the core's logger interface. */
export interface Log {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** child prefixes every line with a component name. */
  child(component: string): Log;
  /** level is the lowest level written; modules are configured with it too. */
  readonly level: LogLevel;
}

/** LogOptions configure {@link createLog}. */
export interface LogOptions {
  level?: LogLevel;
  json?: boolean;
  write?: (line: string) => void;
  component?: string;
}

/** isLogLevel tells whether a string is a log level. */
export function isLogLevel(s: string): s is LogLevel {
  return s in ORDER;
}

/** createLog makes a logger. */
export function createLog(opts: LogOptions = {}): Log {
  const level = opts.level ?? 'info';
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const make = (component: string | undefined): Log => {
    const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
      if (ORDER[lvl] < ORDER[level]) return;
      const time = new Date().toISOString();
      if (opts.json) {
        write(JSON.stringify({ time, level: lvl, component, msg, ...fields }) + '\n');
        return;
      }
      const extra = fields && Object.keys(fields).length ? ' ' + JSON.stringify(fields) : '';
      write(`${time} ${lvl.toUpperCase().padEnd(5)} ${component ? `[${component}] ` : ''}${msg}${extra}\n`);
    };
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (c) => make(component ? `${component}/${c}` : c),
      level,
    };
  };
  return make(opts.component);
}

/** forwardModuleLine logs one line a module printed, keeping the level of JSON lines. */
export function forwardModuleLine(log: Log, stream: 'stdout' | 'stderr', line: string): void {
  if (line.startsWith('{')) {
    try {
      const parsed = JSON.parse(line) as { level?: string; msg?: string; [k: string]: unknown };
      if (typeof parsed.msg === 'string') {
        const { level, msg, ...fields } = parsed;
        const lvl: LogLevel = level && isLogLevel(level) ? level : 'info';
        log[lvl](msg, Object.keys(fields).length ? fields : undefined);
        return;
      }
    } catch {
      // not JSON after all: log the text as it is
    }
  }
  void stream; // both streams are the module's log: plain lines at info level
  log.info(line);
}
