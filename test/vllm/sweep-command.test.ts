import { describe, expect, it } from 'vitest';
import { expandSweep, sweepPointOfCommand, sweepPointText, type ParamsReader, type SweepExpansion } from '../../src/vllm/index.js';

const files = (map: Record<string, string>): ParamsReader => (path) => (path in map ? { text: map[path] ?? '', file: `/data/${path}` } : { looked: [`/data/${path}`] });
const none = files({});
const points = (s: SweepExpansion) => (s.status === 'sweep' ? s.points : []);

const SERVE = "vllm serve org/model --max-num-seqs 64";
const BENCH = 'vllm bench serve --model org/model --dataset-name random --max-concurrency 8 --ignore-eos';

describe('expandSweep: vllm bench sweep serve', () => {
  it("applies each --bench-params record as vLLM's ParameterSweepItem (replace, add, booleans), serve x bench product", () => {
    const read = files({
      'bench.json': JSON.stringify([{ max_concurrency: 16 }, { 'max-concurrency': 32, request_rate: 4, ignore_eos: false }]),
      'serve.json': JSON.stringify({ small: { max_num_seqs: 32, enforce_eager: true } }),
    });
    const s = expandSweep(`vllm bench sweep serve --serve-cmd '${SERVE}' --bench-cmd '${BENCH}' --bench-params bench.json --serve-params serve.json -o out --num-runs 3`, read);
    expect(s.status).toBe('sweep');
    const p = points(s);
    expect(p.map((x) => x.label)).toEqual(['max_num_seqs=32, enforce_eager=true, max_concurrency=16', 'max_num_seqs=32, enforce_eager=true, max-concurrency=32, request_rate=4, ignore_eos=false']);
    expect(p[0]?.serve).toBe('vllm serve org/model --max-num-seqs 32 --enforce-eager');
    expect(p[0]?.bench).toBe('vllm bench serve --model org/model --dataset-name random --max-concurrency 16 --ignore-eos');
    // A flag the command has is replaced where it stands; a new one is added at the end; false is --no-flag.
    expect(p[1]?.bench).toBe('vllm bench serve --model org/model --dataset-name random --max-concurrency 32 --no-ignore-eos --request-rate 4');
    expect(s.status === 'sweep' && s.notes.join('\n')).toMatch(/--num-runs not used: isobench's --trials/);
  });

  it('without parameter files is one point; --link-vars keeps matching combinations; --warmup-num-prompts is the warm-ups', () => {
    expect(points(expandSweep(`vllm bench sweep serve --serve-cmd '${SERVE}' --bench-cmd '${BENCH}'`, none)).map((p) => p.label)).toEqual(['default']);
    const read = files({ 's.json': JSON.stringify([{ max_num_seqs: 8 }, { max_num_seqs: 16 }]), 'b.json': JSON.stringify([{ max_concurrency: 8 }, { max_concurrency: 16 }]) });
    const linked = expandSweep(`vllm bench sweep serve --serve-cmd '${SERVE}' --bench-cmd '${BENCH}' --serve-params s.json --bench-params b.json --link-vars max_num_seqs=max_concurrency --warmup-num-prompts 3`, read);
    expect(points(linked).map((p) => p.label)).toEqual(['max_num_seqs=8, max_concurrency=8', 'max_num_seqs=16, max_concurrency=16']);
    expect(points(linked)[0]?.bench).toMatch(/--num-warmups 3$/);
  });

  it('refuses what it cannot run as asked, with the reason', () => {
    const base = `--serve-cmd '${SERVE}' --bench-cmd '${BENCH}'`;
    const refusal = (cmd: string, read = none) => {
      const s = expandSweep(cmd, read);
      return s.status === 'refused' ? `${s.code}: ${s.reason}` : s.status;
    };
    expect(refusal(`vllm bench sweep serve_sla ${base} --sla-params x.json`)).toMatch(/^unsupported_mode: .*points depend on what each variant measured/);
    expect(refusal('vllm bench sweep plot results/')).toMatch(/^unsupported_mode: .*runs no benchmark/);
    expect(refusal(`vllm bench sweep serve ${base} --after-bench-cmd 'curl x'`)).toMatch(/^unsupported_flag: --after-bench-cmd: isobench starts a fresh server/);
    expect(refusal(`vllm bench sweep serve ${base} --dry-run`)).toMatch(/^unsupported_flag: --dry-run/);
    expect(refusal(`vllm bench sweep serve ${base} --frobnicate 1`)).toMatch(/^unsupported_flag: --frobnicate/);
    expect(refusal(`vllm bench sweep serve ${base} --bench-params gone.json`)).toBe('dataset_missing: --bench-params gone.json not found at /data/gone.json: pass --dataset-dir with the file');
    expect(refusal(`vllm bench sweep serve ${base} --bench-params b.json`, files({ 'b.json': '{"a": 1' }))).toMatch(/^task_invalid: --bench-params \/data\/b.json: not JSON/);
    expect(refusal(`vllm bench sweep serve ${base} --bench-params b.json`, files({ 'b.json': '[]' }))).toMatch(/^task_invalid: the sweep has no point/);
    expect(refusal(`vllm bench sweep serve ${base} --bench-params b.json`, files({ 'b.json': '[{"max_concurrency": 8}, {"max_concurrency": 8}]' }))).toMatch(/^task_invalid: sweep points 1 .* and 2 .* run the same command/);
    expect(refusal(`vllm bench sweep serve --bench-cmd '${BENCH}'`)).toMatch(/^task_invalid: .*needs --serve-cmd and --bench-cmd/);
  });
});

describe('expandSweep: several load values on a serving command', () => {
  it('space- and comma-separated --request-rate / --max-concurrency lists: their product, concurrency outer', () => {
    const s = expandSweep('python benchmarks/benchmark_serving.py --model m --request-rate 1 2 inf --max-concurrency=4,8 --num-prompts 10', none);
    expect(s.status === 'sweep' && s.form).toBe('load_list');
    expect(points(s).map((p) => p.label)).toEqual([
      'max_concurrency=4, request_rate=1',
      'max_concurrency=4, request_rate=2',
      'max_concurrency=4, request_rate=inf',
      'max_concurrency=8, request_rate=1',
      'max_concurrency=8, request_rate=2',
      'max_concurrency=8, request_rate=inf',
    ]);
    expect(points(s)[5]?.bench).toBe('python benchmarks/benchmark_serving.py --model m --request-rate inf --max-concurrency 8 --num-prompts 10');
    expect(points(s)[0]?.serve).toBeNull();
  });

  it('one value is no sweep; several values on a non-serving command are refused', () => {
    expect(expandSweep('vllm bench serve --model m --request-rate 4 --max-concurrency 8', none).status).toBe('single');
    expect(expandSweep('vllm bench serve --model m --request-rate 4,4', none)).toMatchObject({ status: 'refused', code: 'task_invalid' });
    expect(expandSweep('vllm serve m --max-concurrency 1 2', none)).toMatchObject({ status: 'refused', code: 'unsupported_flag' });
  });

  it("a point's label is read back from the end of its stored command", () => {
    const text = sweepPointText({ index: 2, count: 3, label: 'max_concurrency=16, x=a; b' });
    expect(sweepPointOfCommand(`vllm bench serve --model m  # isobench: random 32/4; ${text}`)).toBe('2/3: max_concurrency=16, x=a; b');
    expect(sweepPointOfCommand('vllm bench serve --model m  # isobench: random 32/4')).toBeNull();
  });
});

describe('tasks check on a sweep', () => {
  it('checks every point and names a sweep it cannot run', async () => {
    const { checkTask, TaskSchema } = await import('../../src/task/index.js');
    const t = (perf_command: string) => TaskSchema.parse({ commit: 'a'.repeat(40), parent: 'e'.repeat(40), perf_command });
    const ok = checkTask(t('vllm bench serve --model m --dataset-name random --max-concurrency 1 4'));
    expect(ok.status).toBe('ok');
    expect(ok.mode).toBe('serving');
    const bad = checkTask(t('vllm bench serve --model m --dataset-name random --max-concurrency 1 4 --profile'));
    expect(bad.contradictions.map((c) => c.message)).toEqual([
      expect.stringMatching(/^sweep point 1 \(max_concurrency=1\): --profile: it runs the torch profiler/),
      expect.stringMatching(/^sweep point 2 \(max_concurrency=4\): --profile/),
    ]);
    const sla = checkTask(t(`vllm bench sweep serve_sla --serve-cmd 'vllm serve m' --bench-cmd 'vllm bench serve --model m'`));
    expect(sla.status).toBe('invalid');
    expect(sla.contradictions[0]?.message).toMatch(/asks for a sweep isobench cannot run as asked: vllm bench sweep serve_sla/);
  });
});
