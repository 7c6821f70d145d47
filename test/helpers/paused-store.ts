import type { Store } from '@incident-pilot/core';

/**
 * `store` with the first call of `method` held until `resume()`, so that a test can run another worker
 * in between: `reached` settles once that call has returned (with `before`, once it is made, before it
 * reaches the store). Later calls go straight through.
 */
export function pauseFirstCall(store: Store, method: keyof Store, { before = false } = {}) {
  let resume = () => {};
  const resumed = new Promise<void>((resolve) => {
    resume = resolve;
  });
  let reach = () => {};
  const reached = new Promise<void>((resolve) => {
    reach = resolve;
  });
  const original = store[method] as (...args: unknown[]) => Promise<unknown>;
  let calls = 0;
  const paused: Store = {
    ...store,
    [method]: async (...args: unknown[]) => {
      const first = ++calls === 1;
      if (first && before) {
        reach();
        await resumed;
      }
      const result = await original.apply(store, args);
      if (first && !before) {
        reach();
        await resumed;
      }
      return result;
    },
  };
  return { store: paused, reached, resume };
}
