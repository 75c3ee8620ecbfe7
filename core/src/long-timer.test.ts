import { MAX_TIMER_MS, setLongTimeout } from './long-timer';

describe('setLongTimeout', () => {
  afterEach(() => jest.useRealTimers());

  it('waits the whole delay beyond setTimeout\'s 24.8 days, re-arming in between', () => {
    jest.useFakeTimers();
    const fired = jest.fn();
    setLongTimeout(fired, 30 * 24 * 3600 * 1000); // 30 days: setTimeout alone would fire at once
    jest.advanceTimersByTime(1);
    expect(fired).not.toHaveBeenCalled();
    jest.advanceTimersByTime(MAX_TIMER_MS);
    expect(fired).not.toHaveBeenCalled();
    jest.advanceTimersByTime(30 * 24 * 3600 * 1000 - MAX_TIMER_MS - 2);
    expect(fired).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('fires short delays as setTimeout does, and never once cancelled (also while re-arming)', () => {
    jest.useFakeTimers();
    const short = jest.fn();
    setLongTimeout(short, 10);
    jest.advanceTimersByTime(10);
    expect(short).toHaveBeenCalledTimes(1);
    const cancelled = jest.fn();
    const t = setLongTimeout(cancelled, 2 * MAX_TIMER_MS);
    jest.advanceTimersByTime(MAX_TIMER_MS + 5);
    t.cancel();
    jest.advanceTimersByTime(2 * MAX_TIMER_MS);
    expect(cancelled).not.toHaveBeenCalled();
  });
});
