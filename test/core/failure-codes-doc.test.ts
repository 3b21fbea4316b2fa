import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAILURE_CODES } from '../../src/core/index.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');

/** The codes of the table under `## Failure codes` in docs/parsers.md, each with its meaning. */
function documentedCodes(): Map<string, string> {
  const text = readFileSync(path.join(repoRoot, 'docs/parsers.md'), 'utf8');
  const section = text.split(/^## /m).find((s) => s.startsWith('Failure codes\n')) ?? '';
  const rows = new Map<string, string>();
  for (const m of section.matchAll(/^\| `([a-z_]+)` \| ([^|]*) \|/gm)) rows.set(m[1]!, m[2]!.trim());
  return rows;
}

describe('docs/parsers.md "Failure codes"', () => {
  it('lists every failure code of src/core/failures.ts once, each with a meaning, and no other', () => {
    const rows = documentedCodes();
    expect([...rows.keys()].sort()).toEqual([...FAILURE_CODES].sort());
    for (const [code, meaning] of rows) expect(meaning.length, code).toBeGreaterThan(10);
  });

  it("README's failure code list names every code", () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const section = readme.split(/^## /m).find((s) => s.startsWith('Failure codes\n')) ?? '';
    for (const code of FAILURE_CODES) expect(section, code).toContain(`\`${code}\``);
  });
});
