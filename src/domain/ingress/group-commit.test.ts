import { createGroupCommit } from './group-commit';

describe('group commit', () => {
  it('flushes concurrent submissions together and answers each with its own result', async () => {
    const groups: number[][] = [];
    const gc = createGroupCommit(async (items: number[]) => {
      groups.push(items);
      return items.map((i) => i * 10);
    }, { maxBatch: 100 });
    const out = await Promise.all([1, 2, 3, 4].map((i) => gc.submit(i)));
    expect(out).toEqual([10, 20, 30, 40]);
    expect(groups).toEqual([[1, 2, 3, 4]]);
  });

  it('queues what arrives during a flush into the next group, up to maxBatch', async () => {
    const groups: number[][] = [];
    let release: () => void = () => undefined;
    const gc = createGroupCommit(async (items: number[]) => {
      groups.push(items);
      if (groups.length === 1) await new Promise<void>((r) => (release = r));
      return items;
    }, { maxBatch: 2 });
    const first = gc.submit(0);
    await new Promise((r) => setImmediate(r));
    const rest = [1, 2, 3].map((i) => gc.submit(i));
    release();
    await Promise.all([first, ...rest]);
    expect(groups).toEqual([[0], [1, 2], [3]]);
  });

  it('a failing group is retried member by member, so only the bad one fails', async () => {
    const gc = createGroupCommit(async (items: number[]) => {
      if (items.includes(13)) throw new Error('bad delivery');
      return items;
    }, { maxBatch: 10 });
    const results = await Promise.allSettled([1, 13, 2].map((i) => gc.submit(i)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});
