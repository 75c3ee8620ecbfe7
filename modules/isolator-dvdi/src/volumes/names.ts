/**
 * The rules names and options of volumes must follow, shared by the isolator and the local plugin.
 * They keep every value safe to use as a file name, in a URL or in a log line: no shell metacharacters,
 * no path traversal, sane lengths. Kept free of imports so the plugin's bundle stays small.
 */

/** DRIVER_NAME is what a volume driver's name may look like (it becomes a socket or spec file name). */
export const DRIVER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** VOLUME_NAME is what a volume's name may look like (Docker's rule, at most 255 characters). */
export const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

/** OPTION_KEY is what a driver option's key may look like. */
export const OPTION_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** MAX_OPTION_VALUE is the longest driver option value accepted. */
export const MAX_OPTION_VALUE = 1024;

/** MAX_OPTIONS is the most driver options one volume may carry. */
export const MAX_OPTIONS = 64;

// Characters a shell would interpret, quotes, backslash, whitespace and control characters.
const UNSAFE_VALUE = /[;&|`$<>\\'"(){}[\]*?!#~^\s\x00-\x1f\x7f]/;

/** problemWithName says what is wrong with a driver or volume name, or undefined when it is fine. */
export function problemWithName(kind: 'driver' | 'volume', value: unknown): string | undefined {
  const rule = kind === 'driver' ? DRIVER_NAME : VOLUME_NAME;
  const max = kind === 'driver' ? 128 : 255;
  if (typeof value !== 'string' || value === '') return `a ${kind} name is required`;
  if (value.length > max) return `${kind} name "${value.slice(0, 40)}..." is longer than ${max} characters`;
  if (!rule.test(value)) {
    return `${kind} name "${value}" may only hold letters, digits, "_", "." and "-", and must start with a letter or digit`;
  }
  return undefined;
}

/** problemWithOption says what is wrong with one driver option, or undefined when it is fine. */
export function problemWithOption(key: string, value: unknown): string | undefined {
  if (!OPTION_KEY.test(key)) {
    return `option key "${key.slice(0, 64)}" may only hold letters, digits, "_", "." and "-" (at most 128), starting with a letter or digit`;
  }
  if (typeof value !== 'string') return `option "${key}" must be a string`;
  if (value.length > MAX_OPTION_VALUE) return `option "${key}" is longer than ${MAX_OPTION_VALUE} characters`;
  const bad = UNSAFE_VALUE.exec(value);
  if (bad) {
    const shown = bad[0] <= ' ' || bad[0] === '\x7f' ? `\\x${bad[0].charCodeAt(0).toString(16).padStart(2, '0')}` : bad[0];
    return `option "${key}" holds "${shown}": shell metacharacters, quotes, whitespace and control characters are not allowed`;
  }
  if (value.split(/[/,=:]/).includes('..')) return `option "${key}" holds a ".." path segment`;
  return undefined;
}

/** problemWithOptions checks every option of a volume; the first problem found, or undefined. */
export function problemWithOptions(options: Record<string, unknown>): string | undefined {
  const keys = Object.keys(options);
  if (keys.length > MAX_OPTIONS) return `${keys.length} options given; at most ${MAX_OPTIONS} are accepted`;
  for (const key of keys) {
    const problem = problemWithOption(key, options[key]);
    if (problem) return problem;
  }
  return undefined;
}

/** problemWithContainerPath says what is wrong with a container path, or undefined when it is fine. */
export function problemWithContainerPath(p: unknown): string | undefined {
  if (typeof p !== 'string' || p === '') return 'a container path is required';
  if (p.length > 4096) return 'longer than 4096 characters';
  if (/[\x00-\x1f\x7f]/.test(p)) return `"${p.replace(/[\x00-\x1f\x7f]/g, '?')}" holds control characters`;
  const segments = p.split('/').filter(Boolean);
  if (segments.includes('..')) return `"${p}" holds a ".." segment: a volume may not be mounted outside the path it names`;
  if (segments.every((s) => s === '.')) return `"${p}" names the ${p.startsWith('/') ? 'root directory' : 'sandbox itself'}: give a directory inside it`;
  return undefined;
}
