import type { Block, Cell, Section } from './document.js';

const cellText = (c: Cell): string => (typeof c === 'string' ? c : c.text);

/** Escapes what would break a Markdown table cell or start markup. */
function mdEscape(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function table(head: readonly string[], rows: readonly Cell[][], numeric: readonly boolean[] = []): string {
  const align = head.map((_, i) => (numeric[i] ? '---:' : '---'));
  const line = (cells: readonly string[]) => `| ${cells.map(mdEscape).join(' | ')} |`;
  return [line(head), `|${align.join('|')}|`, ...rows.map((r) => line(r.map(cellText)))].join('\n');
}

function block(b: Block): string {
  switch (b.kind) {
    case 'p':
      return b.text;
    case 'list':
      return b.items.map((i) => `- ${i}`).join('\n');
    case 'table':
      return table(b.head, b.rows, b.numeric);
    case 'chart':
      return `*Chart "${b.title}" is drawn in report.html.* ${b.caption}`;
    case 'group':
    case 'tiles':
      return b.blocks.map(block).join('\n\n');
    case 'h3':
      return `### ${b.text}`;
    case 'details':
      return `<details><summary>${b.summary}</summary>\n\n${b.blocks.map(block).join('\n\n')}\n\n</details>`;
  }
}

/** The report as Markdown: the same sections as the HTML, tables as pipe tables, charts referred to the HTML. */
export function renderMarkdown(title: string, subtitle: string, sections: readonly Section[]): string {
  const parts = [`# ${title}`, subtitle, ...sections.map((s) => `## ${s.title}\n\n${s.blocks.map(block).join('\n\n')}`)];
  return `${parts.join('\n\n')}\n`;
}
