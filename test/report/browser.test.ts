import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import { buildReport } from '../../src/report/index.js';
import { writeTrialsStore } from './trials-store.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PUBLISHED = path.resolve(repoRoot, '../shared/corpus/iso-bench/archive/results/2026-01/omniperf_results_3way_claude_code/hf_export/updated_dataset.parquet');

function chromiumPath(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}
const chromium = chromiumPath();

/**
 * Appended to a copy of the report: after load, records the page's widths and the smallest rendered size of any chart
 * text (its font size times the factor the SVG is scaled by to fit its column), and which text that is.
 */
const PROBE = `<script>window.addEventListener('load', () => setTimeout(() => {
  const d = document.documentElement;
  let minFont = Infinity, minText = '', charts = 0;
  for (const svg of document.querySelectorAll('figure svg')) {
    const shown = svg.getBoundingClientRect().width;
    if (shown === 0) continue;
    charts++;
    const scale = shown / svg.width.baseVal.value;
    for (const t of svg.querySelectorAll('text')) {
      if (!t.textContent.trim()) continue;
      const px = parseFloat(getComputedStyle(t).fontSize) * scale;
      if (px < minFont) { minFont = px; minText = t.textContent; }
    }
  }
  // Tables wider than their box (they scroll sideways inside it, and a screenshot cuts them): the heading above each.
  const scrolled = [...document.querySelectorAll('.scroll')].filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => {
    let h = e.previousElementSibling;
    while (h && !/^H[1-4]$/.test(h.tagName)) h = h.previousElementSibling;
    return (h ? h.textContent : '?') + ' (' + e.scrollWidth + ' px in ' + e.clientWidth + ')';
  });
  const out = document.createElement('pre');
  out.id = 'isobench-probe';
  out.textContent = JSON.stringify({ inner: window.innerWidth, scroll: d.scrollWidth, body: document.body.scrollWidth, minFont, minText, charts, scrolled });
  document.body.appendChild(out);
}, 500));</script>`;

/** Chart text must stay readable at 800 px: no SVG is scaled down so far that its text drops below this. */
const MIN_CHART_FONT_PX = 10;

/** The page with only its header, navigation and one section (for a screenshot of that section). */
function onlySection(html: string, id: string): string {
  const start = html.indexOf(`<section id="${id}">`);
  const end = html.indexOf('</section>', start);
  return `${html.slice(0, html.indexOf('<main>') + 6)}${html.slice(start, end)}</section></main></body></html>`;
}

function chrome(args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(chromium!, ['--headless=new', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--enable-logging=stderr', '--v=0', '--virtual-time-budget=5000', ...args], { encoding: 'utf8', timeout: 90_000 });
  return { stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Renders `html` at 800 and 1600 px: window width, no horizontal overflow, no console message, chart text size. */
function checkInBrowser(dir: string, name: string, html: string): void {
  const probe = path.join(dir, `${name}-probe.html`);
  writeFileSync(probe, html.replace('</body>', `${PROBE}</body>`));
  for (const width of [800, 1600]) {
    const { stdout, stderr } = chrome([`--window-size=${width},1200`, '--dump-dom', `file://${probe}`]);
    const m = /<pre id="isobench-probe">([^<]*)<\/pre>/.exec(stdout);
    expect(m, `no probe output at ${width}px: ${stderr.slice(-500)}`).not.toBeNull();
    const seen = JSON.parse(m![1]!) as { inner: number; scroll: number; body: number; minFont: number; minText: string; charts: number; scrolled: string[] };
    expect(seen.inner).toBe(width);
    expect(seen.scroll, `${name}: page wider than the ${width}px window`).toBeLessThanOrEqual(width);
    expect(seen.charts).toBeGreaterThan(0);
    // At 800 px a wide table scrolls inside its section; at 1600 px every table fits its box (a screenshot, the
    // README's, would cut it).
    if (width >= 1600) expect(seen.scrolled, `${name} at ${width}px: tables wider than their box`).toEqual([]);
    expect(seen.minFont, `${name} at ${width}px: chart text "${seen.minText}" drawn at ${seen.minFont.toFixed(1)} px`).toBeGreaterThanOrEqual(MIN_CHART_FONT_PX);
    const consoleErrors = stderr.split('\n').filter((l) => /CONSOLE|Uncaught|Failed to load resource/i.test(l));
    expect(consoleErrors, `${name} at ${width}px`).toEqual([]);
  }
}

function screenshot(dir: string, file: string, width: number, height: number): string {
  const shot = path.join(dir, `${path.basename(file, '.html')}-${width}.png`);
  chrome([`--window-size=${width},${height}`, `--screenshot=${shot}`, `file://${file}`]);
  expect(statSync(shot).size).toBeGreaterThan(10_000);
  return shot;
}

// Debian's chromium (scripts/ci-services.sh install puts it on a CI machine).
describe.skipIf(chromium === null || !existsSync(PUBLISHED))('the HTML report in a real headless browser', () => {
  // ISOBENCH_REPORT_SCREENSHOTS=docs refreshes the README's screenshots (1600 px).
  const keep = process.env.ISOBENCH_REPORT_SCREENSHOTS;

  it('of the published dataset fits 800 and 1600 px wide without overflow or console errors, chart text >= 10 px; screenshots', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'isobench-browser-'));
    const before = process.exitCode;
    const code = await runCli(['node', 'isobench', 'report', '--dataset', PUBLISHED, '--out', dir]);
    process.exitCode = before;
    expect(code).toBe(0);
    const html = readFileSync(path.join(dir, 'report.html'), 'utf8');
    checkInBrowser(dir, 'published', html);
    screenshot(dir, path.join(dir, 'report.html'), 800, 1200);
    const shot = screenshot(dir, path.join(dir, 'report.html'), 1600, 1200);
    if (keep) copyFileSync(shot, path.join(keep, 'report-screenshot.png'));
  }, 240_000);

  it('of a store (per-task tables, paired rounds, distributions) fits both widths too; screenshot of the per-task section', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'isobench-browser-store-'));
    const store = path.join(dir, 'store.sqlite');
    // With --min-trials on the stop row: the primary lines carry the interval at the stop (the longer table header).
    await writeTrialsStore(store, { minRounds: 5 });
    const before = process.exitCode;
    const code = await runCli(['node', 'isobench', 'report', '--store', store, '--out', dir]);
    process.exitCode = before;
    expect(code).toBe(0);
    const html = readFileSync(path.join(dir, 'report.html'), 'utf8');
    expect(html).toContain('paired rounds on ttft_mean');
    checkInBrowser(dir, 'store', html);
    const section = path.join(dir, 'trials.html');
    writeFileSync(section, onlySection(html, 'trials'));
    screenshot(dir, section, 800, 2400);
    const shot = screenshot(dir, section, 1600, 2400);
    if (keep) copyFileSync(shot, path.join(keep, 'report-trials-screenshot.png'));
  }, 240_000);

  it('of sweep rows with an SLO (curves, knee, max point meeting the SLO) fits both widths too', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'isobench-browser-sweep-'));
    const commit = 'cd'.repeat(20);
    const tp = [100, 200, 300, 330, 340];
    const ttft = [50, 52, 55, 200, 600];
    const rows = tp.map((x, p) => {
      const side = (v: string, f: number) => ({
        [`${v}_throughput`]: x * f,
        [`${v}_ttft_median`]: ttft[p]! / 2,
        [`${v}_ttft_p99`]: ttft[p]!,
        [`${v}_tpot_median`]: 9 + p,
        [`${v}_tpot_p99`]: 10 + p,
        [`${v}_slo_attainment`]: ttft[p]! <= 100 ? 0.97 : 0.4,
        [`${v}_goodput`]: p + 1,
        [`${v}_slo_met`]: ttft[p]! <= 100,
      });
      return { commit_hash: commit, commit_short: commit.slice(0, 8), commit_subject: 'sweep task', benchmark_mode: 'serving', config_key: `k${p}`, sweep_point: `${p + 1}/5: max_concurrency=${2 ** p}`, slo: 'ttft:100', baseline_ttft_mean: ttft[p]!, ...side('baseline', 1), ...side('human', 1.1) };
    });
    const { html } = await buildReport(rows, { generatedAt: 'now' });
    expect(html).toContain('>SLO<');
    checkInBrowser(dir, 'sweep', html);
  }, 240_000);
});
