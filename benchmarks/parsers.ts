/**
 * Parser benchmark: times `parseBenchmarkOutput` and `classifyFailure` on a synthetic server log (interleaved INFO
 * lines, tqdm redraws with \r, ANSI colours, a serving summary at the end) and on one line with no newline, against a
 * reference in the same run: a plain `split('\n')` over the same text. Prints MB/s; asserts nothing.
 *
 *   npm run bench:parsers                    # 100 MB
 *   MB=20 npm run bench:parsers
 */
import { classifyFailure, parseBenchmarkOutput } from '../src/vllm/index.js';

const MB = Number(process.env.MB ?? 100);

function syntheticLog(bytes: number): string {
  const block = [
    'INFO 01-12 06:20:58 metrics.py:345] Avg prompt throughput: 1234.5 tokens/s, Avg generation throughput: 99.1 tokens/s, Running: 3 reqs',
    '\x1b[32mINFO\x1b[0m:     127.0.0.1:51234 - "POST /v1/completions HTTP/1.1" 200 OK',
    ' 45%|████▌     | 45/100 [00:12<00:15,  3.61it/s]\r 46%|████▌     | 46/100 [00:12<00:14,  3.64it/s]',
    'WARNING 01-12 06:20:59 scheduler.py:1560] Sequence group 12 is preempted by PreemptionMode.RECOMPUTE',
  ].join('\n');
  const summary = '\n============ Serving Benchmark Result ============\nRequest throughput (req/s): 8.00\nMean TTFT (ms): 100.5\nP99 ITL (ms): 40.1\n';
  return `${block}\n`.repeat(Math.ceil(bytes / (block.length + 1))) + summary;
}

function time(label: string, bytes: number, fn: () => unknown): void {
  const t0 = performance.now();
  const out = fn();
  const ms = performance.now() - t0;
  const what = typeof out === 'object' && out !== null && 'status' in out ? String(out.status) : typeof out === 'object' && out !== null && 'code' in out ? String(out.code) : String(out);
  console.log(`${label.padEnd(44)} ${ms.toFixed(0).padStart(6)} ms  ${((bytes / 1e6) / (ms / 1000)).toFixed(0).padStart(5)} MB/s  → ${what}`);
}

const log = syntheticLog(MB * 1e6);
const oneLine = 'x'.repeat(MB * 1e6);
console.log(`input: ${(log.length / 1e6).toFixed(1)} MB log, ${(oneLine.length / 1e6).toFixed(1)} MB single line`);
time('reference: text.split("\\n").length', log.length, () => log.split('\n').length);
time('parseBenchmarkOutput(log)', log.length, () => parseBenchmarkOutput(log));
time('classifyFailure({ server: log })', log.length, () => classifyFailure({ server: log }));
time('parseBenchmarkOutput(single line)', oneLine.length, () => parseBenchmarkOutput(oneLine));
time('classifyFailure({ server: single line })', oneLine.length, () => classifyFailure({ server: oneLine }));
