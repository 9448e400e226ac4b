import { randomFillSync } from 'node:crypto';

// Random bytes drawn 4 KiB at a time: one call into the CSPRNG per id showed in replays' profiles.
const pool = Buffer.alloc(4096);
let next = pool.length;

function randomHex(bytes: number): string {
  if (next + bytes > pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  next += bytes;
  return pool.toString('hex', next - bytes, next);
}

/** A W3C trace id: 32 lowercase hex digits, never all zeros (128 random bits). */
export function newTraceId(): string {
  return randomHex(16);
}

/** A W3C span (parent) id: 16 lowercase hex digits. */
export function newSpanId(): string {
  return randomHex(8);
}
