/** Ask many members at once, a few at a time: an operator's question to the whole cluster. */

/** Requests in flight at once, whatever the cluster's size. */
export const FAN_OUT_CONCURRENCY = 16;

/** `ask` over every item, at most `concurrency` at a time; results in the items' order. */
export async function fanOut<T, R>(items: readonly T[], ask: (item: T) => Promise<R>, concurrency = FAN_OUT_CONCURRENCY): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await ask(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
