import type { SampleRecord, Store, TrialRecord } from './types.js';

/** Each trial's stored request samples with its benchmark duration (s): what a goodput / SLO attainment is computed from. */
export async function storedRequests(store: Pick<Store, 'getSamples'>, trials: readonly TrialRecord[]): Promise<{ requests: SampleRecord[]; durationS: number | undefined }[]> {
  const out: { requests: SampleRecord[]; durationS: number | undefined }[] = [];
  for (const t of trials) out.push({ requests: await store.getSamples(t.id), durationS: t.metrics.duration });
  return out;
}
