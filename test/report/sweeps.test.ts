import { describe, expect, it } from 'vitest';
import { kneeIndex } from '../../src/core/index.js';
import { kneeIndex as sweepKnee } from '../../src/loadgen/index.js';
import { renderSvg, sweepChart } from '../../src/report/charts.js';
import { buildReport } from '../../src/report/index.js';

const COMMIT = 'ab'.repeat(20);
/** Output tok/s and p99 TTFT per point: baseline's TTFT rises after the 3rd point, the agent's after the 4th. */
const LOAD = [
  { tp: [100, 200, 300, 330, 340], ttft: [50, 52, 55, 200, 600] },
  { tp: [100, 200, 300, 400, 420], ttft: [50, 51, 53, 56, 500] },
];

function row(point: number, agent: number) {
  const b = LOAD[0]!;
  const a = LOAD[agent]!;
  return {
    commit_hash: COMMIT,
    commit_short: COMMIT.slice(0, 8),
    commit_subject: 'sweep task',
    benchmark_mode: 'serving',
    agent_name: 'bot',
    agent_model: 'm',
    has_agent_patch: true,
    config_key: `k${point}`,
    sweep_point: `${point + 1}/5: max_concurrency=${2 ** point}`,
    baseline_throughput: b.tp[point]!,
    baseline_ttft_p99: b.ttft[point]!,
    baseline_ttft_median: b.ttft[point]! / 2,
    baseline_tpot_p99: 10 + point,
    baseline_tpot_median: 9 + point,
    baseline_ttft_mean: b.ttft[point]! / 2,
    agent_throughput: a.tp[point]!,
    agent_ttft_p99: a.ttft[point]!,
    agent_ttft_median: a.ttft[point]! / 2,
    agent_ttft_mean: a.ttft[point]! / 2,
  };
}

describe('report: load sweeps', () => {
  it("draws each variant's latency vs throughput over the points and rings the knee bench sweep would find", async () => {
    // Rows in another order than the points: the curve follows sweep_point.
    const rows = [3, 0, 4, 1, 2].map((p) => row(p, 1));
    const { model, markdown } = await buildReport(rows, { generatedAt: 'now' });
    const t = model.sweeps[0]!;
    expect(t.curves.map((c) => c.variant)).toEqual(['baseline', 'bot / m']);
    const [base, agent] = t.curves as [(typeof t.curves)[0], (typeof t.curves)[0]];
    expect(base.points.map((p) => p.index)).toEqual([1, 2, 3, 4, 5]);
    expect(base.points.map((p) => p.throughput)).toEqual(LOAD[0]!.tp);
    const knee = (l: (typeof LOAD)[0]) => kneeIndex(l.tp.map((x, i) => ({ x, y: l.ttft[i]! })));
    expect(base.knee).toBe(knee(LOAD[0]!));
    expect(agent.knee).toBe(knee(LOAD[1]!));
    expect(base.knee).not.toBe(agent.knee);
    // The same Kneedle as isobench bench sweep.
    expect(sweepKnee(LOAD[0]!.tp.map((x, i) => ({ output_throughput: x, p99_ttft_ms: LOAD[0]!.ttft[i]! })))).toBe(base.knee);
    expect(markdown).toContain('## Load sweeps: latency vs throughput');
    expect(markdown).toContain(`| baseline | ${base.points[base.knee!]!.point} (knee) |`);
    const svg = await renderSvg(sweepChart(t));
    expect(svg).toContain('TTFT p99 (ms)');
  });

  it("marks per variant the highest-throughput point meeting the rows' SLO, drawn and named", async () => {
    // The baseline meets the SLO up to point 3, the agent up to point 4; point 2 of the agent misses it (noise), which
    // does not hide the higher point 4 that meets it.
    const met = [
      [true, true, true, false, false],
      [true, false, true, true, false],
    ];
    const rows = [0, 1, 2, 3, 4].map((p) => ({
      ...row(p, 1),
      slo: 'ttft:100 tpot:50',
      baseline_slo_attainment: met[0]![p] ? 0.95 : 0.5,
      baseline_goodput: 3 + p,
      baseline_slo_met: met[0]![p]!,
      agent_slo_attainment: met[1]![p] ? 1 : 0.2,
      agent_goodput: 4 + p,
      agent_slo_met: met[1]![p]!,
    }));
    const { model, markdown, html } = await buildReport(rows, { generatedAt: 'now' });
    const t = model.sweeps[0]!;
    expect(t.slo).toBe('ttft:100 tpot:50');
    expect(t.curves.map((c) => c.points[c.maxMeetingSlo ?? -1]?.point)).toEqual(['3/5: max_concurrency=4', '4/5: max_concurrency=8']);
    expect(markdown).toContain('SLO ttft:100 tpot:50 (ms). baseline: 5 points, knee ');
    expect(markdown).toContain('max meeting SLO 3/5: max_concurrency=4 (300.0 tok/s, goodput 5.00 req/s)');
    expect(markdown).toContain('max meeting SLO 4/5: max_concurrency=8 (400.0 tok/s, goodput 7.00 req/s)');
    expect(markdown).toMatch(/\| bot \/ m \| 4\/5: max_concurrency=8 \((knee, )?max meeting SLO\) \| 400\.0 \|( [^|]+ \|){4} 100\.0% \| 7\.00 \| yes \|/);
    expect(markdown).toMatch(/\| bot \/ m \| 2\/5: max_concurrency=2 \| 200\.0 \|( [^|]+ \|){4} 20\.0% \| 5\.00 \| no \|/);
    // Drawn: one square with its "SLO" label per variant in each panel it has values in (baseline 4, the agent's rows
    // have no TPOT: 2).
    const svg = await renderSvg(sweepChart(t));
    expect(svg.match(/>SLO</g)).toHaveLength(6);
    expect(html).toContain('>SLO<');
  });

  it('without an SLO in the rows: no SLO columns, nothing marked', async () => {
    const { model, markdown } = await buildReport([0, 1, 2].map((p) => row(p, 1)), { generatedAt: 'now' });
    expect(model.sweeps[0]?.slo).toBeNull();
    expect(model.sweeps[0]?.curves.every((c) => c.maxMeetingSlo === null)).toBe(true);
    expect(markdown).not.toContain('Meets SLO');
    expect(await renderSvg(sweepChart(model.sweeps[0]!))).not.toContain('>SLO<');
  });

  it('has no sweep section without sweep rows', async () => {
    const { markdown } = await buildReport([{ ...row(0, 1), sweep_point: null }], { generatedAt: 'now' });
    expect(markdown).not.toContain('Load sweeps');
  });
});
