import { STORE_SCHEMA_VERSION } from '../../src/store/index.js';

/** What undoes each schema version's migration: a store as version N-1 wrote it (the data of later columns gone). */
const UNDO: Record<number, string[]> = {
  9: ['alter table task_stops drop column min_rounds'],
  8: ['drop index trials_task_config', 'alter table trials drop column config_key', 'alter table trials drop column oom_fallback_max_model_len', 'alter table trials drop column probe_outputs_json'],
  7: ['alter table variants drop column build_json'],
  6: ['drop table task_stops'],
  5: ['drop table run_leases'],
  4: ['alter table variants drop column patch_bytes'],
  3: ['alter table trials drop column position', 'alter table trials drop column order_seed'],
  2: ['alter table runs drop column pid'],
};

/** Takes the (closed) store at `location` back to schema `version`, as a store written by that version looks. */
export async function downgradeStore(rawQuery: (location: string, text: string) => Promise<unknown>, location: string, version: number): Promise<void> {
  for (let v = STORE_SCHEMA_VERSION; v > version; v--) {
    if (!(v in UNDO)) throw new Error(`test/store/downgrade.ts: no undo for schema version ${v}; add it`);
    for (const q of UNDO[v] ?? []) await rawQuery(location, q);
  }
  await rawQuery(location, `delete from isobench_migrations where version > ${version}`);
}
