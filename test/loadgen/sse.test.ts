import { describe, expect, it } from 'vitest';
import { SseOverflowError, SseParser } from '../../src/loadgen/index.js';

function collect(parts: Buffer[], max?: number): string[] {
  const out: string[] = [];
  const p = new SseParser((d) => out.push(d), max);
  parts.forEach((b, i) => p.push(b, i));
  return out;
}

const STREAM = 'data: {"a":1}\n\n: comment\n\nevent: x\ndata: {"b":"é✓"}\n\ndata: line1\ndata: line2\n\ndata:nospace\n\ndata: [DONE]\n\n';
const EXPECTED = ['{"a":1}', '{"b":"é✓"}', 'line1\nline2', 'nospace', '[DONE]'];

describe('SseParser', () => {
  it('parses a whole stream', () => {
    expect(collect([Buffer.from(STREAM)])).toEqual(EXPECTED);
  });

  it('gives the same events for every split point, including inside "data: " and inside UTF-8 characters', () => {
    const bytes = Buffer.from(STREAM);
    for (let i = 0; i <= bytes.length; i++) {
      for (const j of [i, Math.min(bytes.length, i + 1), Math.min(bytes.length, i + 7)]) {
        expect(collect([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)])).toEqual(EXPECTED);
      }
    }
  });

  it('gives the same events fed one byte at a time', () => {
    const bytes = Buffer.from(STREAM);
    expect(collect([...bytes].map((b) => Buffer.from([b])))).toEqual(EXPECTED);
  });

  it('accepts CRLF and lone CR line endings, even when CR and LF arrive in different chunks', () => {
    const crlf = STREAM.replaceAll('\n', '\r\n');
    const cr = STREAM.replaceAll('\n', '\r');
    expect(collect([Buffer.from(crlf)])).toEqual(EXPECTED);
    expect(collect([Buffer.from(cr)])).toEqual(EXPECTED);
    const b = Buffer.from(crlf);
    for (let i = 0; i <= b.length; i++) expect(collect([b.subarray(0, i), b.subarray(i)])).toEqual(EXPECTED);
  });

  it('hands each event the arrival time of the chunk that completed it', () => {
    const times: number[] = [];
    const p = new SseParser((_d, t) => times.push(t));
    p.push(Buffer.from('data: {"a"'), 1);
    p.push(Buffer.from(':1}\n'), 2);
    p.push(Buffer.from('\ndata: x\n\ndata: y\n\n'), 3);
    expect(times).toEqual([3, 3, 3]);
  });

  it('throws SseOverflowError when one event exceeds the cap, split or not', () => {
    const big = `data: ${'x'.repeat(200)}\n\n`;
    expect(() => collect([Buffer.from(big)], 100)).toThrow(SseOverflowError);
    const parts = [...Buffer.from(big)].map((b) => Buffer.from([b]));
    expect(() => collect(parts, 100)).toThrow(SseOverflowError);
    expect(collect([Buffer.from(big)], 1000)).toHaveLength(1);
  });

  it('reports an unfinished event at the end of the stream', () => {
    const p = new SseParser(() => undefined);
    p.push(Buffer.from('data: {"a":1}\n'), 0);
    expect(p.midEvent).toBe(true);
    p.push(Buffer.from('\n'), 1);
    expect(p.midEvent).toBe(false);
  });
});
