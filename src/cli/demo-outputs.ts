import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** What the demo wrote besides the store. */
export interface WrittenOutput {
  what: string;
  path: string;
}

/** Builds the dataset (Parquet + JSONL + card) and the report (Markdown + HTML) of the demo's store into `outDir`. */
export async function writeDemoOutputs(storeLocation: string, outDir: string): Promise<WrittenOutput[]> {
  const [{ buildDatasetRows, buildTaskTrials, writeDataset }, { buildReport }, { openStore }] = await Promise.all([import('../dataset/index.js'), import('../report/index.js'), import('../store/index.js')]);
  const store = await openStore(storeLocation, { create: false });
  try {
    const rows = await buildDatasetRows(store);
    const datasetDir = path.join(outDir, 'dataset');
    const written = await writeDataset(rows, datasetDir, {});
    const report = await buildReport(rows, { source: 'isobench demo' }, await buildTaskTrials(store));
    const reportDir = path.join(outDir, 'report');
    await mkdir(reportDir, { recursive: true });
    const md = path.join(reportDir, 'report.md');
    const html = path.join(reportDir, 'report.html');
    await writeFile(md, report.markdown);
    await writeFile(html, report.html);
    return [
      ...written.files.map((f) => ({ what: 'dataset', path: path.join(datasetDir, f) })),
      { what: 'report', path: md },
      { what: 'report', path: html },
    ];
  } finally {
    await store.close();
  }
}
