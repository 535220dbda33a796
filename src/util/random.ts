import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";

/**
 * A seeded source of uniform numbers in [0, 1): the same seed replays the same run (the
 * simulator, the ESP device simulator, tests). Anything that takes `random: () => number`
 * accepts it or Math.random.
 */
export function seededRandom(seed: number): () => number {
  const rng = xoroshiro128plus(seed);
  return () => uniformInt(rng, 0, 0x7fffffff) / 0x80000000;
}
