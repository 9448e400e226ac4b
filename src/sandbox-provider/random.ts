/**
 * A small seedable PRNG (mulberry32): the sandbox draws its faults from it, so a chaos run started
 * with the same seed meets the same sequence of faults. Not for anything secret.
 */
export type Random = () => number;

/** Uniform in [0, 1), the same sequence for the same 32-bit seed. */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
