/** FNV-1a over 32-bit integers: a stable hash of token ids that every variant computes alike. */
export function hashIds(ids: readonly number[], salt = 0): number {
  let h = (0x811c9dc5 ^ salt) >>> 0;
  for (const id of ids) {
    h = Math.imul(h ^ (id & 0xffff), 0x01000193) >>> 0;
    h = Math.imul(h ^ (id >>> 16), 0x01000193) >>> 0;
  }
  return h;
}

/** FNV-1a over the UTF-16 code units of a string. */
export function hashString(text: string, salt = 0): number {
  let h = (0x811c9dc5 ^ salt) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** One mulberry32 step: returns the next state; `unitFromState` turns a state into [0, 1). */
export function nextState(state: number): number {
  return (state + 0x6d2b79f5) >>> 0;
}

/** The uniform [0, 1) value of a mulberry32 state (no allocation, so it is safe per chunk). */
export function unitFromState(state: number): number {
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** A small seeded generator for the places that hold one (noise, error rates). */
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = nextState(this.state);
    return unitFromState(this.state);
  }
}
