import { MIN_SIZE_BYTES, parseOptions, parseSize, sameOptions } from './options';

describe('tessera-volume-local options', () => {
  it('reads sizes the way operators write them', () => {
    expect(parseSize('1048576')).toBe(1024 * 1024);
    expect(parseSize('64M')).toBe(64 * 1024 * 1024);
    expect(parseSize('64m')).toBe(64 * 1024 * 1024);
    expect(parseSize('1G')).toBe(1024 ** 3);
    expect(parseSize('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('512kb')).toBe(512 * 1024);
    expect(parseSize('2T')).toBe(2 * 1024 ** 4);
    expect(parseSize('ten')).toBeUndefined();
    expect(parseSize('-1M')).toBeUndefined();
    expect(parseSize('1P')).toBeUndefined();
  });

  it('parses options with defaults and refuses what it cannot honour', () => {
    expect(parseOptions(undefined)).toEqual({ mode: 0o755, uid: 0, gid: 0 });
    expect(parseOptions({ size: '16M', mode: '1777', uid: '1000', gid: '100' })).toEqual({ sizeBytes: 16 * 1024 * 1024, mode: 0o1777, uid: 1000, gid: 100 });
    expect(() => parseOptions({ size: '1M' })).toThrow(`DVDI_LOCAL_OPTION_INVALID: option size="1M": at least ${MIN_SIZE_BYTES / 1024 / 1024}M is needed`);
    expect(() => parseOptions({ mode: '999' })).toThrow(/not octal permissions/);
    expect(() => parseOptions({ uid: 'root' })).toThrow(/not a numeric id/);
    expect(() => parseOptions({ type: 'tmpfs' })).toThrow('DVDI_LOCAL_OPTION_INVALID: unknown option "type": tessera-volume-local accepts size, mode, uid, gid');
    expect(() => parseOptions({ size: {} as never })).toThrow(/must be a string/);
  });

  it('compares option sets', () => {
    expect(sameOptions(parseOptions({ size: '16M' }), parseOptions({ size: '16777216' }))).toBe(true);
    expect(sameOptions(parseOptions({}), parseOptions({ mode: '0755' }))).toBe(true);
    expect(sameOptions(parseOptions({}), parseOptions({ size: '16M' }))).toBe(false);
  });
});
