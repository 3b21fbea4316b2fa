import { describe, expect, it } from 'vitest';
import { requestMeetsSlo } from '../../src/core/index.js';
import { goodputOfArgs, goodputOfCommand } from '../../src/vllm/index.js';

describe("--goodput of a perf command (vLLM's nargs='+' KEY:VALUE words, ms)", () => {
  it('reads every word after the flag, the = form, and the last flag given', () => {
    expect(goodputOfArgs(['--model', 'm', '--goodput', 'ttft:500', 'tpot:50', '--seed', '1'])).toEqual({ slo: { ttft: 500, tpot: 50 } });
    expect(goodputOfArgs(['--goodput=e2el:2000.5'])).toEqual({ slo: { e2el: 2000.5 } });
    expect(goodputOfArgs(['--goodput', 'ttft:1', '--goodput', 'tpot:2'])).toEqual({ slo: { tpot: 2 } });
    expect(goodputOfArgs(['--model', 'm'])).toBeNull();
    expect(goodputOfCommand('vllm bench serve --model m --dataset-name random --goodput ttft:500 tpot:50 --max-concurrency 4')).toEqual({ slo: { ttft: 500, tpot: 50 } });
    expect(goodputOfCommand('vllm bench latency --model m')).toBeNull();
  });

  it('names the problem of a bad one', () => {
    expect(goodputOfArgs(['--goodput'])).toEqual({ problem: 'no KEY:VALUE given (e.g. ttft:500 tpot:50)' });
    expect(goodputOfArgs(['--goodput', 'itl:5'])).toEqual({ problem: 'unknown metric "itl": use ttft, tpot or e2el' });
    expect(goodputOfArgs(['--goodput', 'ttft500'])).toEqual({ problem: '"ttft500" is not KEY:VALUE (e.g. ttft:500)' });
    expect(goodputOfArgs(['--goodput', 'ttft:-1'])).toMatchObject({ problem: expect.stringMatching(/ttft \(milliseconds\) must be a number >= 0/) });
  });

  it("vLLM's per-request test: completed, within every SLO, TPOT 0 for a one-token output", () => {
    const r = { ok: true, outputTokens: 5, ttftMs: 100, e2elMs: 300 };
    expect(requestMeetsSlo(r, { ttft: 100, tpot: 50 })).toBe(true);
    expect(requestMeetsSlo(r, { ttft: 99 })).toBe(false);
    expect(requestMeetsSlo(r, { tpot: 49 })).toBe(false);
    expect(requestMeetsSlo({ ...r, outputTokens: 1 }, { tpot: 0 })).toBe(true);
    expect(requestMeetsSlo({ ...r, ok: false }, { e2el: 1e9 })).toBe(false);
  });
});
