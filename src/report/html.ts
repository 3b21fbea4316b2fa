import type { Block, Cell, Section } from './document.js';
import { renderSvg } from './charts.js';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const CSS = `
:root { --fg: #1d1d1f; --muted: #5f6368; --line: #e3e3e3; --better: #1a7f37; --worse: #c62828; --tie: #5f6368; --inc: #a15c00; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); background: #fafafa; }
header { background: #20232a; color: #fff; padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: #c8c8c8; font-size: 13px; }
nav { padding: 8px 32px; background: #fff; border-bottom: 1px solid var(--line); font-size: 13px; position: sticky; top: 0; z-index: 1; display: flex; flex-wrap: wrap; gap: 2px 14px; }
nav a { color: #0b57d0; text-decoration: none; white-space: nowrap; }
@media (max-width: 900px) { header, nav { padding-left: 16px; padding-right: 16px; } main { padding: 8px 12px 32px; } section { padding: 8px 12px 12px; } }
main { padding: 8px 32px 40px; max-width: 1500px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px 20px 16px; margin: 16px 0; }
h2 { font-size: 18px; margin: 12px 0 8px; }
p, li { max-width: 1100px; }
ul { padding-left: 20px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 12.5px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; font-weight: 600; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
tr:hover td { background: #f8fafc; }
td.better { color: var(--better); font-weight: 600; }
td.worse { color: var(--worse); font-weight: 600; }
td.tie { color: var(--tie); }
td.inconclusive { color: var(--inc); }
td.na { color: #9aa0a6; }
td.better, td.worse, td.tie, td.inconclusive, td.na { min-width: 10em; }
figure { margin: 12px 0; }
figcaption { color: var(--muted); font-size: 12.5px; max-width: 1000px; }
figure h3, section h3 { font-size: 15px; margin: 10px 0 4px; }
details > summary { font-weight: 600; }
.tiles { display: flex; flex-wrap: wrap; gap: 0 20px; align-items: flex-start; }
.tiles > div, .tiles > figure { min-width: 0; max-width: 100%; }
.tiles > div { flex: 1 1 680px; }
.tiles > figure { margin: 12px 0; }
.tiles figcaption { max-width: 640px; }
details summary { cursor: pointer; color: #0b57d0; margin: 6px 0; }
svg { max-width: 100%; height: auto; }
`;

function td(c: Cell, numeric: boolean): string {
  const text = typeof c === 'string' ? c : c.text;
  const cls = [numeric ? 'num' : '', typeof c === 'string' ? '' : c.cls].filter(Boolean).join(' ');
  return `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(text)}</td>`;
}

async function block(b: Block): Promise<string> {
  switch (b.kind) {
    case 'p':
      return `<p>${escapeHtml(b.text)}</p>`;
    case 'list':
      return `<ul>${b.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>`;
    case 'table': {
      const num = (i: number) => b.numeric?.[i] ?? false;
      const head = b.head.map((h, i) => `<th${num(i) ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('');
      const rows = b.rows.map((r) => `<tr>${r.map((c, i) => td(c, num(i))).join('')}</tr>`).join('\n');
      return `<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table></div>`;
    }
    case 'chart':
      return `<figure><h3>${escapeHtml(b.title)}</h3>${await renderSvg(b.spec)}<figcaption>${escapeHtml(b.caption)}</figcaption></figure>`;
    case 'group':
      return `<div>${(await Promise.all(b.blocks.map(block))).join('\n')}</div>`;
    case 'tiles':
      return `<div class="tiles">${(await Promise.all(b.blocks.map(block))).join('\n')}</div>`;
    case 'h3':
      return `<h3>${escapeHtml(b.text)}</h3>`;
    case 'details':
      return `<details${b.open ? ' open' : ''}><summary>${escapeHtml(b.summary)}</summary>${(await Promise.all(b.blocks.map(block))).join('\n')}</details>`;
  }
}

/** The report as one self-contained HTML page: inline CSS, inline SVG charts, no script, no external URL. */
export async function renderHtml(title: string, subtitle: string, sections: readonly Section[]): Promise<string> {
  const nav = sections.map((s) => `<a href="#${s.id}">${escapeHtml(s.title.split(':')[0] ?? s.title)}</a>`).join('');
  const body: string[] = [];
  for (const s of sections) body.push(`<section id="${s.id}"><h2>${escapeHtml(s.title)}</h2>\n${(await Promise.all(s.blocks.map(block))).join('\n')}\n</section>`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${escapeHtml(title)}</h1><p>${escapeHtml(subtitle)}</p></header>
<nav>${nav}</nav>
<main>
${body.join('\n')}
</main>
</body>
</html>
`;
}
