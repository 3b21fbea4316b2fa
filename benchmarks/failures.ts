/**
 * Failure-classification coverage on the corpus: every failed run of ISO-Bench's JSON results (test/vllm/corpus.ts's
 * `failedRuns`, 606 runs) through `classifyFailure`. Prints how many get a specific code (anything but
 * unclassified and internal_error), how many of those have their evidence from a kept log line rather than the original's one-line
 * summary, the distribution, and a sample of (code, evidence) pairs per code. Asserts nothing.
 *
 *   npm run bench:failures                   # SAMPLE=3 pairs per code by default
 */
import { classifyFailure } from '../src/vllm/index.js';
import { failedRuns } from '../test/vllm/corpus.js';

const SAMPLE = Number(process.env.SAMPLE ?? 3);
/** What the original wrote when it had no cause to give: a code from it is a consequence, not the cause. */
const SUMMARY_ONLY =
  /^(?:status: \w+|(?:Baseline|Agent|Human) benchmark produced no metrics|No (?:\w+ )?metrics in (?:\w+ )?output|(?:Baseline|BASELINE|Human|HUMAN|Agent|AGENT) server failed to start(?:\. Logs: .*)?|Server failed to start|Server crashed (?:during startup|after applying patch)|No JSON results in output\..*)$/;

const runs = failedRuns();
const byCode = new Map<string, { evidence: string; where: string }[]>();
let specific = 0;
let summaryOnly = 0;
let noLog = 0;
let internalNoCause = 0;
const t0 = performance.now();
for (const run of runs) {
  const f = classifyFailure(run.input);
  const list = byCode.get(f.code) ?? [];
  list.push({ evidence: f.evidence, where: run.where });
  byCode.set(f.code, list);
  const noCause = SUMMARY_ONLY.test(f.evidence);
  if (noCause && run.input.server === undefined) noLog++;
  if (f.code === 'internal_error' || f.code === 'unclassified') {
    if (noCause) internalNoCause++;
    continue;
  }
  specific++;
  if (noCause) summaryOnly++;
}
const ms = performance.now() - t0;
const pct = (n: number, of = runs.length): string => `${((100 * n) / of).toFixed(1)}%`;
const causal = specific - summaryOnly;
const withCause = runs.length - summaryOnly - internalNoCause;
console.log(`failed runs: ${runs.length} (classified in ${ms.toFixed(0)} ms)`);
console.log(`specific code (not unclassified, not internal_error): ${specific} = ${pct(specific)}`);
console.log(`specific code with a causal line from the kept log or message: ${causal} = ${pct(causal)}`);
console.log(`no cause kept by the original (only its summary line or status; ${noLog} without any log): ${summaryOnly + internalNoCause}`);
console.log(`of the ${withCause} runs whose record holds a cause: specific code with the causal line ${causal} = ${pct(causal, withCause)}, internal_error ${withCause - causal} (the original harness's own defects)`);
console.log(`unclassified or internal_error: ${runs.length - specific} = ${pct(runs.length - specific)}\n`);
for (const [code, list] of [...byCode].sort((a, b) => b[1].length - a[1].length)) {
  const counts = new Map<string, number>();
  for (const { evidence } of list) counts.set(evidence.slice(0, 140), (counts.get(evidence.slice(0, 140)) ?? 0) + 1);
  console.log(`${code} ${list.length}`);
  for (const [evidence, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, SAMPLE)) console.log(`  ${String(n).padStart(3)}× ${evidence}`);
}
