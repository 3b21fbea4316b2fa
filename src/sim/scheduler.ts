import type { Generation } from './generation.js';
import { environmentFactor, positionFactor, startLevel } from './noise.js';
import { Prng } from './prng.js';
import { kvCapacity, type SimProfile } from './profile.js';

/** Called for every token a scheduler emits and every request it finishes (metrics, failure injection). */
export interface SchedulerHooks {
  onAdmit(gen: Generation, now: number): void;
  onToken(gen: Generation, now: number): void;
  onFinish(gen: Generation, now: number): void;
}

/** The time of one continuous-batching step in ms; `u` in [0, 1) draws the jitter, `factor` is the noise model's. */
export function stepTimeMs(profile: SimProfile, running: number, prefillTokens: number, u: number, factor = 1): number {
  const ms = (profile.decode_base_ms + profile.decode_per_seq_ms * running + (prefillTokens * 1000) / profile.prefill_tokens_per_s) * factor;
  return profile.noise > 0 ? ms * (1 + profile.noise * (2 * u - 1)) : ms;
}

/** The seed of a start's noise: the recorded `noise_seed`, else (profiles never started) the profile seed. */
export function noiseSeedOf(profile: SimProfile): number {
  return profile.noise_seed ?? profile.seed >>> 1;
}

/** The noise model's factor of one start (level × position) and, at a time, with drift and periodic disturbance. */
export function noiseFactors(profile: SimProfile): { start: number; at: (tS: number) => number } {
  const start = startLevel(profile, noiseSeedOf(profile)) * positionFactor(profile, profile.trial_position);
  return { start, at: (tS) => start * environmentFactor(profile, tS) };
}

/** Whether a request needing `need` KV tokens fits; a request larger than the cache still runs alone. */
export function fitsKv(used: number, need: number, capacity: number, running: number): boolean {
  return used + need <= capacity || running === 0;
}

/** One timer loop that drives every stream of a server. */
export interface Scheduler {
  add(gen: Generation): void;
  readonly running: number;
  readonly waiting: number;
  /** Fraction of the KV cache reserved by running requests. */
  readonly kvUsage: number;
  stop(): void;
}

/** Lateness beyond which the scheduler gives up the simulated time lost (see stepStart); also the most a burst of catching-up steps repays at once. */
export const STALL_MS = 50;

/**
 * Where a step of `ms` starts when the previous one was due to end at `previousEnd` and it is `now`: at that deadline,
 * so a late timer costs no simulated time (the next steps catch up), unless the loop fell behind by more than
 * STALL_MS (a paused or swapped-out process, which a real server would also lose) or the batch was idle (not
 * `continuing`). The limit was one step's length before: on a loaded host, timers late by more than a 4 ms step
 * stretched every such step and diluted the variants' differences (docs/run.md "Validity", end to end).
 */
export function stepStart(previousEnd: number, now: number, ms: number, continuing: boolean): number {
  return continuing && previousEnd > now - Math.max(ms, STALL_MS) ? previousEnd : now;
}

/**
 * vLLM-like continuous batching: each step admits waiting requests (FIFO) while max_num_seqs and the KV-cache
 * capacity allow, prefills them, and emits one token for every running request at the end of the step.
 * Step time = decode_base_ms + decode_per_seq_ms * running + admitted prompt tokens / prefill rate, times noise.
 * Steps follow each other on absolute deadlines so timer lateness does not accumulate.
 */
export class BatchScheduler implements Scheduler {
  private readonly queue: Generation[] = [];
  private head = 0;
  private readonly batch: Generation[] = [];
  private kvUsed = 0;
  private timer: NodeJS.Timeout | undefined;
  private stepEnd = 0;
  private readonly capacity: number;
  private readonly noise: Prng;
  private readonly factor: (tS: number) => number;
  private stopped = false;

  constructor(
    private readonly profile: SimProfile,
    private readonly hooks: SchedulerHooks,
  ) {
    this.capacity = kvCapacity(profile);
    this.noise = new Prng(noiseSeedOf(profile) ^ 0x1234567);
    this.factor = noiseFactors(profile).at;
  }

  get running(): number {
    return this.batch.length;
  }
  get waiting(): number {
    return this.queue.length - this.head;
  }
  get kvUsage(): number {
    return Math.min(1, this.kvUsed / this.capacity);
  }

  add(gen: Generation): void {
    this.queue.push(gen);
    if (this.timer === undefined && !this.stopped) this.startStep(performance.now(), false);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private admit(now: number): number {
    let prefill = 0;
    while (this.head < this.queue.length && this.batch.length < this.profile.max_num_seqs) {
      const gen = this.queue[this.head];
      if (!gen) break;
      if (gen.aborted) {
        this.head++;
        continue;
      }
      if (!fitsKv(this.kvUsed, gen.kvNeed, this.capacity, this.batch.length)) break;
      this.head++;
      this.kvUsed += gen.kvNeed;
      this.batch.push(gen);
      gen.admittedAt = now;
      prefill += gen.plan.promptIds.length;
      this.hooks.onAdmit(gen, now);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return prefill;
  }

  /** `continuing`: right after a step (its deadline is where this one starts); false when the batch was idle. */
  private startStep(now: number, continuing: boolean): void {
    this.timer = undefined;
    const prefill = this.admit(now);
    if (this.batch.length === 0) return;
    // Drift and periodic disturbance follow the wall clock, so every server on the host sees the same ones.
    const ms = stepTimeMs(this.profile, this.batch.length, prefill, this.noise.next(), this.factor(Date.now() / 1000));
    this.stepEnd = stepStart(this.stepEnd, now, ms, continuing) + ms;
    this.timer = setTimeout(() => this.endStep(), Math.max(0, this.stepEnd - performance.now()));
  }

  private endStep(): void {
    const now = performance.now();
    let kept = 0;
    for (let i = 0; i < this.batch.length; i++) {
      const gen = this.batch[i];
      if (!gen) continue;
      if (gen.aborted || gen.done) {
        this.kvUsed -= gen.kvNeed;
        continue;
      }
      if (!gen.stalled) {
        gen.emit(now);
        this.hooks.onToken(gen, now);
        if (this.stopped) return;
        if (gen.done) {
          this.kvUsed -= gen.kvNeed;
          this.hooks.onFinish(gen, now);
          continue;
        }
      }
      this.batch[kept++] = gen;
    }
    this.batch.length = kept;
    if (!this.stopped) this.startStep(now, true);
  }
}

/** A binary min-heap of generations ordered by `due`. */
class DueHeap {
  readonly items: Generation[] = [];
  push(gen: Generation): void {
    const a = this.items;
    a.push(gen);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = a[parent];
      if (!p || p.due <= gen.due) break;
      a[i] = p;
      i = parent;
    }
    a[i] = gen;
  }
  pop(): Generation | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || !last) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const right = a[r];
      const left = a[l];
      if (!left) break;
      const c = right && right.due < left.due ? r : l;
      const child = a[c];
      if (!child || child.due >= last.due) break;
      a[i] = child;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

/**
 * Exact mode: every request gets its first chunk exact_first_ms after arrival, then one every exact_interval_ms,
 * planned on absolute times (no drift), with no batching limits. One timer serves the earliest due chunk.
 */
export class ExactScheduler implements Scheduler {
  private readonly heap = new DueHeap();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private stopped = false;

  constructor(
    private readonly profile: SimProfile,
    private readonly hooks: SchedulerHooks,
  ) {}

  get running(): number {
    return this.heap.items.length;
  }
  get waiting(): number {
    return 0;
  }
  get kvUsage(): number {
    return 0;
  }

  add(gen: Generation): void {
    gen.due = gen.arrival + this.profile.exact_first_ms;
    this.hooks.onAdmit(gen, gen.arrival);
    this.heap.push(gen);
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    const next = this.heap.items[0];
    if (!next || this.stopped || next.due >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next.due;
    this.timer = setTimeout(() => this.fire(), Math.max(0, next.due - performance.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = performance.now();
    // Chunks due within the next 0.25 ms go now: a timer cannot be armed for less than a millisecond.
    for (let next = this.heap.items[0]; next && next.due <= now + 0.25; next = this.heap.items[0]) {
      const gen = this.heap.pop();
      if (!gen || gen.aborted || gen.done || gen.stalled) continue;
      gen.emit(now);
      this.hooks.onToken(gen, now);
      if (this.stopped) return;
      if (gen.done) this.hooks.onFinish(gen, now);
      else if (!gen.stalled) {
        gen.due += this.profile.exact_interval_ms;
        this.heap.push(gen);
      }
    }
    this.arm();
  }
}
