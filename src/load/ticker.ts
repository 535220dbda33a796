/** Run `fn` every `ms` until the returned function is called. Injected so unit tests drive time by hand. */
export type Ticker = (ms: number, fn: () => void) => () => void;

export const intervalTicker: Ticker = (ms, fn) => {
  const t = setInterval(fn, ms);
  return () => clearInterval(t);
};
