import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { spawnIsobench, tempDir, type SpawnedRun } from './helpers.js';
import { buildLlamaServer, llamaCppMissing, tinyModel } from './llama-cpp.js';

/**
 * `isobench run --engine process --preset llama.cpp` on a real performance commit of llama.cpp, built from the
 * corpus's bundle at the commit and its parent (once per machine: the build cache outlives the checkout).
 *
 * 3a04c6e "ggml : more perfo with llamafile tinyblas on x86_64 (#10714)" changes how tinyBLAS blocks and
 * dispatches the f16 matrix multiplications of prompt processing. Measured on this project's machines (AVX2 build,
 * GGML_NATIVE=OFF, one thread, the README's tiny f16 model; docs/engines.md): the commit costs about 17% more CPU per
 * 700-token prompt than its parent 98d9e7f, so its TTFT is worse. The perf command is the task's own (sampling
 * flags included); the server gets no hand-written flags: its command, readiness, tokenizer API and flag
 * translation come from the preset, and the engine config only gives the thread count through llama.cpp's
 * environment variable (one thread on a shared 2-core machine, as the corpus README says).
 */
const PARENT = '98d9e7fab36d0838db2203f3251d9db35ce134fb';
const COMMIT = '3a04c6e9071f1c3143d32d2c6b5341f6cead96ec';
const OUTPUT_LEN = 4;
const PROMPTS = 4;
const FIRST_ROUNDS = 6;
const MAX_ROUNDS = 24;
const AA_ROUNDS = 3;

const missing = llamaCppMissing();
// In CI a machine without the tools fails loudly (scripts/ci-services.sh install provides them); elsewhere skip.
const skip = missing.length > 0 && process.env.CI !== 'true';

function runIsobench(args: string[]): Promise<SpawnedRun> {
  return spawnIsobench(['run', ...args]);
}

interface Row {
  taskCommit: string;
  kind: string;
  ok: number;
  failed: number;
  metric: string | null;
  vsBaseline: { improvementPct: number; ciLow: number | null; ciHigh: number | null; n: number; verdict: string } | null;
}

function rowsOf(run: SpawnedRun): Row[] {
  const results = run.events.find((e) => e.type === 'results');
  return (results?.rows ?? []) as Row[];
}

describe.skipIf(skip)('llama.cpp end to end: a real performance commit on the process engine with the llama.cpp preset', () => {
  let model = '';

  beforeAll(async () => {
    if (missing.length > 0) throw new Error(`cannot build llama.cpp here: missing ${missing.join(', ')} (run scripts/ci-services.sh install)`);
    const parent = await buildLlamaServer(PARENT);
    await buildLlamaServer(COMMIT);
    model = tinyModel(parent.tree);
  }, 1_800_000);

  it('every request returns exactly the requested tokens; TTFT of the tinyBLAS commit is worse; an A/A task is neither better nor worse', async () => {
    const dir = tempDir('isobench-llama-e2e-');
    const perf = [
      'python benchmarks/benchmark_serving.py --backend openai-chat --endpoint /v1/chat/completions',
      `--model ${model} --dataset-name random --random-input-len 1536 --random-output-len ${OUTPUT_LEN}`,
      `--num-prompts ${PROMPTS} --max-concurrency 1 --temperature 0 --ignore-eos --seed 1`,
    ].join(' ');
    const tasks = path.join(dir, 'tasks.json');
    writeFileSync(
      tasks,
      JSON.stringify({
        version: 1,
        tasks: [
          { commit: COMMIT, parent: PARENT, subject: 'ggml : more perfo with llamafile tinyblas on x86_64 (#10714)', perf_command: perf },
          // A/A: the "human" variant is the parent itself.
          { commit: PARENT, parent: PARENT, subject: 'A/A: the parent against itself', perf_command: perf },
        ],
      }),
    );
    const engine = path.join(dir, 'engine.json');
    writeFileSync(engine, JSON.stringify({ env: { LLAMA_ARG_THREADS: '1' }, registryDir: path.join(dir, 'registry'), workDir: path.join(dir, 'work'), stopGraceMs: 5000 }));
    const store = path.join(dir, 'store.sqlite');
    const common = ['--tasks', tasks, '--engine', 'process', '--preset', 'llama.cpp', '--engine-config', engine, '--store', store, '--warmups', '1', '--variants', 'baseline,human', '--json-events'];

    // Rounds are added (the store resumes the run) until the verdict is conclusive or MAX_ROUNDS: a 20% TTFT effect is
    // large against a quiet machine's noise, not always against that of a machine running several builds at once.
    let rounds = FIRST_ROUNDS;
    const events: Record<string, unknown>[] = [];
    let human: Row | undefined;
    for (;;) {
      const real = await runIsobench([...common, '--only', COMMIT, '--trials', String(rounds)]);
      expect(real.code, real.stderr).toBe(0);
      events.push(...real.events);
      human = rowsOf(real).find((r) => r.taskCommit === COMMIT && r.kind === 'human');
      process.stdout.write(`llama.cpp e2e: 3a04c6e vs 98d9e7f after ${rounds} rounds ${JSON.stringify(human?.vsBaseline)}\n`);
      if (human?.vsBaseline?.verdict !== 'inconclusive' || rounds >= MAX_ROUNDS) break;
      rounds += FIRST_ROUNDS;
    }
    const aa = await runIsobench([...common, '--only', PARENT, '--trials', String(AA_ROUNDS)]);
    expect(aa.code, aa.stderr).toBe(0);

    // The workload was counted by llama-server's own tokenizer, and the run says so.
    const workload = events.find((e) => e.type === 'workload');
    expect(workload?.tokenizer).toBe(`server-model:${model} (the server's /tokenize, llama.cpp API)`);

    const s = await openStore(store);
    try {
      const trials = await s.listTrials({});
      expect(trials).toHaveLength(2 * rounds + 2 * AA_ROUNDS);
      expect(trials.filter((t) => t.status !== 'ok').map((t) => t.failure)).toEqual([]);
      for (const t of trials) {
        const samples = await s.getSamples(t.id);
        expect(samples).toHaveLength(PROMPTS);
        expect(samples.map((x) => [x.ok, x.outputTokens])).toEqual(Array.from({ length: PROMPTS }, () => [true, OUTPUT_LEN]));
      }
    } finally {
      await s.close();
    }

    expect(human?.metric).toBe('ttft_mean');
    expect(human?.vsBaseline?.n).toBe(rounds);
    expect(human?.vsBaseline?.verdict).toBe('worse');

    const same = rowsOf(aa).find((r) => r.taskCommit === PARENT && r.kind === 'human');
    process.stdout.write(`llama.cpp e2e: A/A 98d9e7f vs 98d9e7f ${JSON.stringify(same?.vsBaseline)}\n`);
    expect(same?.vsBaseline?.n).toBe(AA_ROUNDS);
    expect(['better', 'worse']).not.toContain(same?.vsBaseline?.verdict);
  }, 1_800_000);
});
