import type { CompiledQuery, Kysely } from 'kysely';
import { IMPORTED_CONFIG_KEY } from '../core/index.js';
import { parseProbeOutputs, rowToLogBytes } from './rows.js';
import type { Database } from './schema.js';

/**
 * What schema 7 and earlier kept only as text: the configuration in the trial key, the OOM-fallback decision in a
 * deviation, the probe outputs in a log. Read here once, by migration 8, and nowhere else: every later reader takes
 * the typed columns (trials.config_key, oom_fallback_max_model_len, probe_outputs_json).
 */

/** The deviation text isobench wrote for the OOM fallback (`max_model_len=2048 (oom fallback for every variant of the task)`). */
const OOM_DEVIATION = /^max_model_len=(\d+) \(oom fallback/;

/** The configuration of a trial key as isobench wrote them: `${variantId}#${configKey}#${trialIndex}`, or an import's. */
export function legacyConfigKey(trialKey: string): string | null {
  if (trialKey.startsWith('import:')) return IMPORTED_CONFIG_KEY;
  return /#([^#]+)#\d+$/.exec(trialKey)?.[1] ?? null;
}

/** The OOM fallback's `--max-model-len` recorded in a trial's deviations, else null. */
export function legacyOomFallback(deviationsJson: string): number | null {
  let deviations: unknown;
  try {
    deviations = JSON.parse(deviationsJson);
  } catch {
    return null;
  }
  if (!Array.isArray(deviations)) return null;
  for (const d of deviations) {
    const m = typeof d === 'string' ? OOM_DEVIATION.exec(d) : null;
    if (m) return Number(m[1]);
  }
  return null;
}

const PAGE = 2000;
const IDS_PER_UPDATE = 500;

type Column = 'config_key' | 'oom_fallback_max_model_len' | 'probe_outputs_json';

/**
 * Migration 8's data step: the updates that fill the new columns of the trials already stored, from their keys,
 * deviations and probe logs. Rows with the same value share one statement (a store's trials have few configurations,
 * and greedy probe outputs repeat), so a large store is backfilled in few statements.
 */
export async function backfillDecisions(db: Kysely<Database>): Promise<CompiledQuery[]> {
  const byValue = new Map<Column, Map<string | number, string[]>>();
  const add = (column: Column, value: string | number | null, id: string) => {
    if (value === null) return;
    let values = byValue.get(column);
    if (!values) byValue.set(column, (values = new Map<string | number, string[]>()));
    const ids = values.get(value);
    if (ids) ids.push(id);
    else values.set(value, [id]);
  };
  for (let after = -1; ; ) {
    const rows = await db.selectFrom('trials').select(['seq', 'id', 'trial_key', 'deviations_json']).where('seq', '>', after).orderBy('seq').limit(PAGE).execute();
    for (const r of rows) {
      add('config_key', legacyConfigKey(r.trial_key), r.id);
      add('oom_fallback_max_model_len', legacyOomFallback(r.deviations_json), r.id);
    }
    if (rows.length < PAGE) break;
    after = Number(rows[rows.length - 1]!.seq);
  }
  for (let after = { trial: '', seq: -1 }; ; ) {
    const rows = await db
      .selectFrom('logs')
      .select(['trial_id', 'seq', 'encoding', 'data'])
      .where('kind', '=', 'probe')
      .where((eb) => eb.or([eb('trial_id', '>', after.trial), eb.and([eb('trial_id', '=', after.trial), eb('seq', '>', after.seq)])]))
      .orderBy('trial_id')
      .orderBy('seq')
      .limit(PAGE)
      .execute();
    for (const r of rows) {
      let outputs: (string | null)[] | null = null;
      try {
        outputs = parseProbeOutputs(rowToLogBytes(r).toString('utf8'));
      } catch {
        /* a damaged log: the trial keeps no probe outputs (never a reference), as before */
      }
      if (outputs !== null) add('probe_outputs_json', JSON.stringify(outputs), r.trial_id);
    }
    if (rows.length < PAGE) break;
    const last = rows[rows.length - 1]!;
    after = { trial: last.trial_id, seq: Number(last.seq) };
  }
  const statements: CompiledQuery[] = [];
  for (const [column, values] of byValue) {
    for (const [value, ids] of values) {
      for (let i = 0; i < ids.length; i += IDS_PER_UPDATE) {
        // Only where still empty: a trial has one probe log, but a store damaged by hand may have two.
        statements.push(db.updateTable('trials').set({ [column]: value }).where('id', 'in', ids.slice(i, i + IDS_PER_UPDATE)).where(column, 'is', null).compile());
      }
    }
  }
  return statements;
}
