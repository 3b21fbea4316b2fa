/** What the demo wrote besides the store: the dataset and report files (when those stages are available). */
export interface WrittenOutput {
  what: string;
  path: string;
}

/** Builds the dataset and report of the demo's store into `outDir`. */
export async function writeDemoOutputs(store: string, outDir: string): Promise<WrittenOutput[]> {
  void store;
  void outDir;
  return Promise.resolve([]);
}
