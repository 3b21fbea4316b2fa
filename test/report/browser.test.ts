import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.js';

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

/** Appended to a copy of the report: after load, records the page's widths and every element past the right edge. */
const PROBE = `<script>window.addEventListener('load', () => setTimeout(() => {
  const d = document.documentElement;
  const out = document.createElement('pre');
  out.id = 'isobench-probe';
  out.textContent = JSON.stringify({ inner: window.innerWidth, scroll: d.scrollWidth, body: document.body.scrollWidth });
  document.body.appendChild(out);
}, 500));</script>`;

function chrome(args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(chromium!, ['--headless=new', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--enable-logging=stderr', '--v=0', '--virtual-time-budget=5000', ...args], { encoding: 'utf8', timeout: 90_000 });
  return { stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

// Debian's chromium (scripts/ci-services.sh install puts it on a CI machine).
describe.skipIf(chromium === null || !existsSync(PUBLISHED))('the HTML report in a real headless browser', () => {
  it('fits 800 and 1600 px wide without horizontal overflow or console errors; screenshots at both widths', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'isobench-browser-'));
    const before = process.exitCode;
    const code = await runCli(['node', 'isobench', 'report', '--dataset', PUBLISHED, '--out', dir]);
    process.exitCode = before;
    expect(code).toBe(0);
    const html = readFileSync(path.join(dir, 'report.html'), 'utf8');
    const probe = path.join(dir, 'probe.html');
    writeFileSync(probe, html.replace('</body>', `${PROBE}</body>`));
    for (const width of [800, 1600]) {
      const { stdout, stderr } = chrome([`--window-size=${width},1200`, '--dump-dom', `file://${probe}`]);
      const m = /<pre id="isobench-probe">([^<]*)<\/pre>/.exec(stdout);
      expect(m, `no probe output at ${width}px: ${stderr.slice(-500)}`).not.toBeNull();
      const seen = JSON.parse(m![1]!) as { inner: number; scroll: number; body: number };
      expect(seen.inner).toBe(width);
      expect(seen.scroll, `page wider than the ${width}px window`).toBeLessThanOrEqual(width);
      const consoleErrors = stderr.split('\n').filter((l) => /CONSOLE|Uncaught|Failed to load resource/i.test(l));
      expect(consoleErrors, `at ${width}px`).toEqual([]);
      const shot = path.join(dir, `report-${width}.png`);
      chrome([`--window-size=${width},1200`, `--screenshot=${shot}`, `file://${path.join(dir, 'report.html')}`]);
      expect(statSync(shot).size).toBeGreaterThan(10_000);
      // ISOBENCH_REPORT_SCREENSHOTS=docs refreshes the README's screenshot (the 1600 px one).
      const keep = process.env.ISOBENCH_REPORT_SCREENSHOTS;
      if (keep && width === 1600) copyFileSync(shot, path.join(keep, 'report-screenshot.png'));
    }
  }, 240_000);
});
