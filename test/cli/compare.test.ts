import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultCacheRoot } from '../../src/engine/index.js';
import { spawnIsobench } from '../run/helpers.js';
import { buildLlamaServer, LLAMA_BUNDLE as BUNDLE, llamaCppMissing, tinyModel } from '../run/llama-cpp.js';

/**
 * `isobench compare --repo <llama.cpp bundle> 98d9e7f 3a04c6e --agent same=<3a04c6e's C/C++ diff> -- <perf>`: every
 * variant built from source (the build cache outside the checkout: baseline and head are usually there already),
 * measured by the run's interleaved runner on the README's tiny model; the agent whose patch is the commit's own C/C++ diff
 * never contradicts the commit's verdict, and `--fail-on-worse` turns a worse head into the exit code. The second compare resumes from the store and reuses every build.
 */
const PARENT = '98d9e7fab36d0838db2203f3251d9db35ce134fb';
const COMMIT = '3a04c6e9071f1c3143d32d2c6b5341f6cead96ec';

const missing = llamaCppMissing();
const skip = missing.length > 0 && process.env.CI !== 'true';
const dir = mkdtempSync(path.join(tmpdir(), 'isobench-compare-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const isobench = spawnIsobench;

interface Row {
  kind: string;
  label: string;
  ok: number;
  metric: string | null;
  vsBaseline: { verdict: string; n: number } | null;
}

describe.skipIf(skip)('isobench compare on two commits of the llama.cpp repository', () => {
  it('builds base, head and an agent patch, measures them interleaved, prints the verdict; --fail-on-worse sets the exit code; a second compare reuses every build', async () => {
    if (missing.length > 0) throw new Error(`cannot build llama.cpp here: missing ${missing.join(', ')}`);
    // The first compare builds the base (or finds it in the cache); the model needs its vocabulary file.
    const mirror = path.join(defaultCacheRoot(), 'llama.cpp', 'repo.git');
    const diff = () => spawnSync('git', ['--git-dir', mirror, 'diff', '--binary', PARENT, COMMIT, '--', '*.c', '*.cpp', '*.h'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const engine = path.join(dir, 'engine.json');
    writeFileSync(engine, JSON.stringify({ env: { LLAMA_ARG_THREADS: '1' }, registryDir: path.join(dir, 'registry'), workDir: path.join(dir, 'work'), stopGraceMs: 5000, build: { jobs: 2 } }));
    const store = path.join(dir, 'store.sqlite');
    const common = ['compare', '--repo', BUNDLE, '--preset', 'llama.cpp', '--engine-config', engine, '--store', store, '--warmups', '1', '--json-events'];

    const refused = await isobench([...common, PARENT, COMMIT]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('-- <perf command>');
    // The model needs the vocabulary of a tree; building (or finding) the base also makes the cache's mirror.
    const model = tinyModel((await buildLlamaServer(PARENT)).tree);
    const patch = path.join(dir, 'same.patch');
    writeFileSync(patch, diff().stdout);
    expect(readFileSync(patch, 'utf8')).toContain('sgemm.cpp');
    const perf = ['--', 'python', 'benchmarks/benchmark_serving.py', '--backend', 'openai-chat', '--endpoint', '/v1/chat/completions', '--model', model,
      '--dataset-name', 'random', '--random-input-len', '1536', '--random-output-len', '4', '--num-prompts', '8', '--max-concurrency', '1', '--temperature', '0', '--ignore-eos', '--seed', '1'];

    const first = await isobench([...common, '--trials', '5', '--agent', `same=${patch}`, '--fail-on-worse', PARENT, COMMIT, ...perf]);
    const rows = ((first.events.find((e) => e.type === 'results')?.rows ?? []) as Row[]);
    const verdicts = first.events.find((e) => e.type === 'compare')?.verdicts as string[] | undefined;
    process.stdout.write(`compare 98d9e7f..3a04c6e: ${JSON.stringify(verdicts)}\n`);
    const human = rows.find((r) => r.kind === 'human');
    const agent = rows.find((r) => r.kind === 'agent');
    expect(human?.vsBaseline?.n, first.stderr).toBe(5);
    expect(agent?.vsBaseline?.n).toBe(5);
    expect(human?.metric).toBe('ttft_mean');
    // The verdicts themselves depend on the machine's load (no assertion on them: measured here, 17% more CPU per
    // prompt for the commit, worse at quiet times, inconclusive at load 10+, docs/engines.md). The agent's patch is
    // the commit's own C/C++ diff: it never contradicts the human's verdict.
    const hv = human?.vsBaseline?.verdict;
    const av = agent?.vsBaseline?.verdict;
    expect([hv, av].sort()).not.toEqual(['better', 'worse']);
    expect(verdicts?.[0]).toMatch(new RegExp(`^head vs base: ${hv ?? ''} on ttft_mean \\([-+]\\d`));
    expect(verdicts?.[1]).toMatch(new RegExp(`^same vs base: ${av ?? ''} on ttft_mean`));
    // --fail-on-worse: exit 3 exactly when the head is worse (it has a verdict here: every round was measured).
    expect(first.code).toBe(hv === 'worse' ? 3 : 0);

    // Resumed with one more round: the six stored rounds are kept, every build comes from the cache (no build step
    // ran: no variant_build event), and without the option the exit code is 0 whatever the verdict.
    const second = await isobench([...common, '--trials', '6', '--agent', `same=${patch}`, PARENT, COMMIT, ...perf]);
    expect(second.code, second.stderr).toBe(0);
    const again = ((second.events.find((e) => e.type === 'results')?.rows ?? []) as Row[]).find((r) => r.kind === 'human');
    expect(again?.vsBaseline?.n).toBe(6);
    const prepared = second.events.filter((e) => e.type === 'variant_prepare' && e.status === 'ready');
    expect(prepared).toHaveLength(3);
    expect(prepared.map((e) => (e.build as { cached: boolean } | undefined)?.cached)).toEqual(prepared.map(() => true));
    expect(second.events.filter((e) => e.type === 'variant_build')).toEqual([]);
    const builtFirst = first.events.filter((e) => e.type === 'variant_prepare' && e.status === 'ready').map((e) => e.build);
    process.stdout.write(`builds of the first compare: ${JSON.stringify(builtFirst)}\n`);
  }, 1_800_000);

  it('--fail-on-worse fails a head that has no verdict (here every trial is task_invalid: llama-server has no tensor parallelism); without it, exit 0', async () => {
    const perf = ['--', 'python', 'benchmarks/benchmark_serving.py', '--model', 'tiny', '--dataset-name', 'random', '--random-input-len', '16', '--random-output-len', '4', '--num-prompts', '2', '--tensor-parallel-size', '2'];
    const args = (store: string) => ['compare', '--repo', BUNDLE, '--preset', 'llama.cpp', '--store', path.join(dir, store), '--json-events', PARENT, COMMIT];
    const gated = await isobench([...args('gate.sqlite'), '--fail-on-worse', ...perf]);
    expect(gated.events.find((e) => e.type === 'compare')?.verdicts).toEqual(['head vs base: no verdict (0 ok trial(s); task_invalid×5)']);
    expect(gated.stderr).toContain('the head has no verdict');
    expect(gated.code).toBe(3);
    const plain = await isobench([...args('plain.sqlite'), ...perf]);
    expect(plain.code, plain.stderr).toBe(0);
  });
});
