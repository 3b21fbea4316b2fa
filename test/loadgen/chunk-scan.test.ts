import { describe, expect, it } from 'vitest';
import { ABSENT, ChunkScanner, NULL, STRING } from '../../src/loadgen/chunk-scan.js';

// The allocation-free scan must agree with the JSON.parse path on every chunk it accepts: valid vLLM chunks and
// thousands of mutated (mostly broken) ones. Chunks it does not accept fall back to JSON.parse in the client.
const sc = new ChunkScanner();
function viaJsonParse(data: string, chat: boolean): string {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let obj: any;
  try { obj = JSON.parse(data); } catch { return 'MALFORMED'; }
  if (obj === null || typeof obj !== 'object') return 'NOTOBJ';
  if (obj.error !== undefined || obj.object === 'error') return 'ERR';
  let piece: unknown;
  const choice = Array.isArray(obj.choices) ? obj.choices[0] : undefined;
  if (choice !== undefined) piece = chat ? (choice.delta?.content ?? choice.delta?.reasoning_content ?? choice.delta?.reasoning) : choice.text;
  const tok = obj.usage?.completion_tokens;
  return JSON.stringify([typeof piece === 'string' && piece.length > 0 ? piece : null, typeof tok === 'number' ? tok : null]);
}
function viaScan(data: string, chat: boolean): string | null {
  const b = Buffer.from(data);
  if (!sc.scan(b, 0, b.length)) return null;
  let slot = 0;
  if (chat) { slot = -1; for (const s of [1,2,3]) { const k = sc.kind[s]; if (k !== ABSENT && k !== NULL) { slot = s; break; } } }
  let piece: string | null = null;
  if (slot !== -1 && sc.kind[slot] === STRING && sc.end[slot]! > sc.start[slot]!) {
    piece = sc.special[slot] ? JSON.parse(b.toString('utf8', sc.start[slot]! - 1, sc.end[slot]! + 1)) : b.toString('utf8', sc.start[slot], sc.end[slot]);
  }
  return JSON.stringify([piece, Number.isNaN(sc.usageTokens) ? null : sc.usageTokens]);
}
const base = [
  '{"id":"x","object":"text_completion","choices":[{"index":0,"text":" beko","finish_reason":null}]}',
  '{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"hé\\n\\u00e9"},"logprobs":null}]}',
  '{"choices":[{"delta":{"content":null,"reasoning_content":"r"}}]}',
  '{"choices":[{"delta":{"content":"","reasoning_content":"r"}}]}',
  '{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":150,"total_tokens":155}}',
  '{"choices":[{"text":"a"}],"usage":null}',
  '{"choices":[{"text":"a","delta":null}],"usage":{"completion_tokens":1e2}}',
  '{"error":{"message":"boom"}}', '{"object":"error","message":"x"}', '{"error":null}',
  '[1]', 'null', '"s"', '{"choices":[null]}', '{"choices":[{"text":"a"},{"text":"b"}]}',
  '{"choices":[{"text":"a"}],"choices":[{"text":"b"}]}', '{"choices":{"0":1}}',
  '  {"a":[1,2,{"b":[true,false,null,-0.5e+3]}],"choices":[{"text":"\\"q\\""}]}  ',
];
const mutate = (s: string, r: () => number): string => {
  const i = Math.floor(r() * (s.length + 1));
  const ops = ['', '"', '\\', ',', '}', ']', '{', '[', ':', 'x', '\n', '\u0001', '0', '-', 'e', '.', 'nul', 'é', ' '];
  const op = ops[Math.floor(r() * ops.length)]!;
  const m = r();
  if (m < 0.33) return s.slice(0, i) + op + s.slice(i);
  if (m < 0.66) return s.slice(0, i) + s.slice(i + 1);
  return s.slice(0, i) + op + s.slice(i + 1);
};
let seed = 1; const r = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
describe('ChunkScanner', () => {
  it('agrees with JSON.parse on every chunk it accepts, valid or mutated', () => {
let n = 0, fast = 0, bad = 0;
const mismatches: string[] = [];
for (const b of base) for (let k = 0; k < 2000; k++) {
  let s = b; const steps = 1 + Math.floor(r() * 3); for (let j = 0; j < steps; j++) s = mutate(s, r);
  if (k === 0) s = b;
  for (const chat of [false, true]) {
    n++; let o: string; try { o = viaJsonParse(s, chat); } catch { o = 'THROW'; } const x = viaScan(s, chat);
    if (x === null) continue; fast++;
    if (x !== o) { bad++; if (mismatches.length < 10) mismatches.push(`${chat} ${JSON.stringify(s)} ${o} ${x}`); }
  }
}
expect(mismatches).toEqual([]);
expect(bad).toBe(0);
// The fast path must really be taken for the usual shapes (else this test proves nothing).
expect(fast).toBeGreaterThan(n / 10);
  });
});
