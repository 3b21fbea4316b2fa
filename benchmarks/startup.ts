/**
 * Start-up benchmark: wall time of `isobench --help` and `isobench parse FILE` (a vLLM serving log of a few KB),
 * each a fresh `node bin/isobench.js` process, against the reference `node -e 0` measured in the same run, round by
 * round in the same order so load drift hits all alike. Also times the TypeScript sources through tsx (what every
 * start cost before the compiled CLI, and what bin/isobench.js falls back to when dist/ is stale). Builds dist/ first
 * when it is stale. Prints medians, minimums and the ratio to `node -e 0`; asserts nothing.
 *
 *   npm run bench:startup              # 15 rounds
 *   ROUNDS=30 npm run bench:startup
 *   COMPARE=/path/to/other/checkout npm run bench:startup   # adds that checkout's bin/isobench.js (before/after)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { distIsFresh } from '../bin/source-stamp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.ROUNDS ?? 15);
const bin = path.join(root, 'bin/isobench.js');

if (!distIsFresh(root)) {
  console.log('dist/ is stale: npm run build');
  execFileSync(process.execPath, [path.join(root, 'scripts/build.js')], { stdio: 'inherit' });
}

const dir = mkdtempSync(path.join(tmpdir(), 'isobench-startup-'));
const log = path.join(dir, 'serve.log');
writeFileSync(
  log,
  [
    ...Array.from({ length: 50 }, (_, i) => `INFO 01-12 06:20:${String(i % 60).padStart(2, '0')} metrics.py:345] Avg prompt throughput: 1234.5 tokens/s, Running: 3 reqs`),
    '============ Serving Benchmark Result ============',
    'Successful requests:                     100',
    'Benchmark duration (s):                  12.50',
    'Request throughput (req/s):              8.00',
    'Output token throughput (tok/s):         512.00',
    'Mean TTFT (ms):                          100.50',
    'Median TTFT (ms):                        98.00',
    'P99 TTFT (ms):                           180.20',
    'Mean TPOT (ms):                          20.10',
    'Mean ITL (ms):                           20.00',
    'P99 ITL (ms):                            40.10',
    '==================================================',
  ].join('\n') + '\n',
);

const cases: [label: string, args: string[]][] = [
  ['node -e 0 (reference)', ['-e', '0']],
  ['isobench --help', [bin, '--help']],
  [`isobench parse FILE`, [bin, 'parse', log]],
  ['sources via tsx: --help (before / fallback)', ['--import', 'tsx/esm', path.join(root, 'src/cli/main.ts'), '--help']],
];
const compare = process.env.COMPARE;
if (compare !== undefined) {
  const other = path.join(path.resolve(compare), 'bin/isobench.js');
  cases.push([`${compare}: isobench --help`, [other, '--help']], [`${compare}: isobench parse FILE`, [other, 'parse', log]]);
}
const times: number[][] = cases.map(() => []);
const before = loadavg()[0] ?? 0;
for (let r = 0; r < ROUNDS; r++) {
  cases.forEach(([label, args], i) => {
    const t0 = performance.now();
    const res = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = performance.now() - t0;
    if (res.status !== 0) throw new Error(`${label} exited ${res.status}: ${res.stderr.toString()}`);
    times[i]!.push(ms);
  });
}
rmSync(dir, { recursive: true, force: true });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length / 2;
  return s.length % 2 ? s[Math.floor(m)]! : (s[m - 1]! + s[m]!) / 2;
};
const ref = median(times[0]!);
console.log(`${ROUNDS} rounds, load average ${before.toFixed(2)} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at end (${process.version})`);
console.log(`${'command'.padEnd(46)} ${'median'.padStart(9)} ${'min'.padStart(9)}  x node -e 0 (median)`);
cases.forEach(([label], i) => {
  const m = median(times[i]!);
  console.log(`${label.padEnd(46)} ${`${m.toFixed(0)} ms`.padStart(9)} ${`${Math.min(...times[i]!).toFixed(0)} ms`.padStart(9)}  ${(m / ref).toFixed(1)}x`);
});
