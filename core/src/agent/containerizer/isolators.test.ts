import { Slots } from './isolators';

describe('Slots', () => {
  it('runs at most n calls at once, the rest in arrival order, and frees a slot when a call fails', async () => {
    const slots = new Slots(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const call = (i: number, fail = false) =>
      slots.run(async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 5));
        running -= 1;
        order.push(i);
        if (fail) throw new Error(`call ${i} failed`);
        return i;
      });
    const results = await Promise.allSettled([call(0), call(1, true), call(2), call(3), call(4)]);
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(await call(5)).toBe(5);
  });
});
