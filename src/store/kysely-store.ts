import type { CompiledQuery, Selectable, SelectQueryBuilder } from 'kysely';
import type { Task } from '../task/index.js';
import { storeError, type Backend } from './backend.js';
import { decodeSamples, encodeSamples, SAMPLES_ENCODING } from './samples-codec.js';
import { errorMessage } from '../core/index.js';
import { MAX_LISTED, type IntegrityProblem, type IntegrityReport } from './integrity.js';
import { leaseDead, type HeldLease, type LeaseHolder, type LeaseResult } from './lease.js';
import type { Database, RunLeasesTable } from './schema.js';
import { logToRow, rowToLog, rowToLogBytes, rowToRun, rowToTaskStop, rowToTrial, rowToVariant, runToRow, taskStopToRow, taskToJson, trialToRow, variantToRow } from './rows.js';
import type {
  LogRecord,
  RunRecord,
  RunStatus,
  SampleRecord,
  Store,
  TaskStopRecord,
  TrialCount,
  TrialFilter,
  TrialRecord,
  VariantRecord,
} from './types.js';

/** Keys per `IN (...)` list: far below SQLite's and PostgreSQL's bound-parameter limits. */
const KEY_CHUNK = 500;
const DEFAULT_PAGE = 5000;
/** Rows per page of the integrity check: trial records, and blobs (samples, logs: up to megabytes each). */
const CHECK_PAGE = 2000;
const CHECK_BLOBS = 100;

function parses(json: string): boolean {
  try {
    JSON.parse(json);
    return true;
  } catch {
    return false;
  }
}

/** The Store over any backend: every query is built with kysely, so SQLite and PostgreSQL share this code. */
export class KyselyStore implements Store {
  readonly kind: Backend['kind'];
  readonly location: string;
  readonly #b: Backend;

  constructor(backend: Backend) {
    this.#b = backend;
    this.kind = backend.kind;
    this.location = backend.location;
  }

  #closing: Promise<void> | undefined;

  /** Idempotent: `finally` blocks of several owners may all close the store. */
  close(): Promise<void> {
    this.#closing ??= this.#b.close();
    return this.#closing;
  }

  upsertTask(task: Task): Promise<void> {
    return this.#guard(`saving task ${task.commit}`, async () => {
      const json = taskToJson(task);
      await this.#b.db
        .insertInto('tasks')
        .values({ commit: task.commit, json })
        .onConflict((oc) => oc.column('commit').doUpdateSet({ json }))
        .execute();
    });
  }

  getTask(commit: string): Promise<Task | null> {
    return this.#guard(`reading task ${commit}`, async () => {
      const row = await this.#b.db.selectFrom('tasks').select('json').where('commit', '=', commit).executeTakeFirst();
      return row === undefined ? null : (JSON.parse(row.json) as Task);
    });
  }

  listTasks(): Promise<Task[]> {
    return this.#guard('listing tasks', async () => {
      const rows = await this.#b.db.selectFrom('tasks').select('json').orderBy('commit').execute();
      return rows.map((r) => JSON.parse(r.json) as Task);
    });
  }

  upsertVariant(variant: VariantRecord): Promise<void> {
    return this.#guard(`saving variant ${variant.id}`, async () => {
      const row = variantToRow(variant);
      const { id: _id, build_json, ...others } = row;
      // A variant written without its build (a run registering its variants) keeps the build stored before.
      const rest = variant.build === undefined ? others : { ...others, build_json };
      await this.#b.db
        .insertInto('variants')
        .values(row)
        .onConflict((oc) => oc.column('id').doUpdateSet(rest))
        .execute();
    });
  }

  listVariants(taskCommit?: string): Promise<VariantRecord[]> {
    return this.#guard('listing variants', async () => {
      let q = this.#b.db.selectFrom('variants').selectAll();
      if (taskCommit !== undefined) q = q.where('task_commit', '=', taskCommit);
      const rows = await q.orderBy('id').execute();
      return rows.map(rowToVariant);
    });
  }

  createRun(run: RunRecord): Promise<void> {
    return this.#guard(`creating run ${run.id}`, async () => {
      // Idempotent: an import that re-uses its run id, or a retried call, keeps the first record.
      await this.#b.db
        .insertInto('runs')
        .values(runToRow(run))
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    });
  }

  finishRun(id: string, status: RunStatus, finishedAt: string): Promise<void> {
    return this.#guard(`finishing run ${id}`, async () => {
      const res = await this.#b.db.updateTable('runs').set({ status, finished_at: finishedAt }).where('id', '=', id).executeTakeFirst();
      if (res.numUpdatedRows === 0n) throw new Error(`no run with id ${id}`);
    });
  }

  listRuns(): Promise<RunRecord[]> {
    return this.#guard('listing runs', async () => {
      const rows = await this.#b.db.selectFrom('runs').selectAll().orderBy('started_at').orderBy('id').execute();
      return rows.map(rowToRun);
    });
  }

  saveTrial(trial: TrialRecord, samples: readonly SampleRecord[], logs: readonly LogRecord[]): Promise<'inserted' | 'exists'> {
    return this.#guard(`saving trial ${trial.trialKey}`, async () => {
      const db = this.#b.db;
      const statements: CompiledQuery[] = [
        db
          .insertInto('trials')
          .values(trialToRow(trial))
          // No conflict target: under concurrent writers PostgreSQL may meet the unique `id` first; which one
          // conflicted is sorted out below.
          .onConflict((oc) => oc.doNothing())
          .compile(),
      ];
      if (samples.length > 0) {
        statements.push(
          db.insertInto('samples').values({ trial_id: trial.id, count: samples.length, encoding: SAMPLES_ENCODING, data: encodeSamples(samples) }).compile(),
        );
      }
      if (logs.length > 0) {
        statements.push(db.insertInto('logs').values(logs.map((log, i) => logToRow(trial.id, i, log))).compile());
      }
      if (await this.#b.write(statements, true)) return 'inserted';
      const stored = await this.#b.db.selectFrom('trials').select('trial_key').where('trial_key', '=', trial.trialKey).executeTakeFirst();
      if (stored === undefined) throw new Error(`trial id ${trial.id} is already used by a trial with another key`);
      return 'exists';
    });
  }

  existingTrialKeys(keys: readonly string[]): Promise<Set<string>> {
    return this.#guard('reading trial keys', async () => {
      const found = new Set<string>();
      for (let i = 0; i < keys.length; i += KEY_CHUNK) {
        const chunk = keys.slice(i, i + KEY_CHUNK);
        const rows = await this.#b.db.selectFrom('trials').select('trial_key').where('trial_key', 'in', chunk).execute();
        for (const r of rows) found.add(r.trial_key);
      }
      return found;
    });
  }

  listTrials(filter: TrialFilter = {}): Promise<TrialRecord[]> {
    return this.#guard('listing trials', async () => {
      const out: TrialRecord[] = [];
      for await (const t of this.iterateTrials(filter)) out.push(t);
      return out;
    });
  }

  /** Keyset paging on the insertion sequence: each page is one short query, so writers are never held up. */
  async *iterateTrials(filter: TrialFilter = {}, opts: { pageSize?: number } = {}): AsyncIterable<TrialRecord> {
    const pageSize = opts.pageSize ?? DEFAULT_PAGE;
    let after = -1;
    for (;;) {
      const rows = await this.#guard('listing trials', () =>
        applyFilter(this.#b.db.selectFrom('trials').selectAll(), filter)
          .where('seq', '>', after)
          .orderBy('seq')
          .limit(pageSize)
          .execute(),
      );
      for (const r of rows) yield rowToTrial(r);
      const last = rows[rows.length - 1];
      if (last === undefined || rows.length < pageSize) return;
      after = Number(last.seq);
    }
  }

  countTrials(filter: TrialFilter = {}): Promise<number> {
    return this.#guard('counting trials', async () => {
      const row = await applyFilter(this.#b.db.selectFrom('trials'), filter)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    });
  }

  trialCounts(): Promise<TrialCount[]> {
    return this.#guard('counting trials', async () => {
      const rows = await this.#b.db
        .selectFrom('trials')
        .select(['task_commit', 'variant_id', 'status', (eb) => eb.fn.countAll().as('n')])
        .groupBy(['task_commit', 'variant_id', 'status'])
        .orderBy('task_commit')
        .orderBy('variant_id')
        .execute();
      const byVariant = new Map<string, TrialCount>();
      for (const r of rows) {
        const key = `${r.task_commit}\u0000${r.variant_id}`;
        const c = byVariant.get(key) ?? { taskCommit: r.task_commit, variantId: r.variant_id, ok: 0, failed: 0 };
        if (r.status === 'ok') c.ok += Number(r.n);
        else c.failed += Number(r.n);
        byVariant.set(key, c);
      }
      return [...byVariant.values()];
    });
  }

  recentFailures(limit: number): Promise<TrialRecord[]> {
    return this.#guard('listing failures', async () => {
      const rows = await this.#b.db
        .selectFrom('trials')
        .selectAll()
        .where('status', '=', 'failed')
        .orderBy('finished_at', 'desc')
        .orderBy('seq', 'desc')
        .limit(limit)
        .execute();
      return rows.map(rowToTrial);
    });
  }

  getSamples(trialId: string): Promise<SampleRecord[]> {
    return this.#guard(`reading samples of trial ${trialId}`, async () => {
      const row = await this.#b.db.selectFrom('samples').selectAll().where('trial_id', '=', trialId).executeTakeFirst();
      return row === undefined ? [] : decodeSamples(trialId, row.encoding, row.data);
    });
  }

  getLogs(trialId: string): Promise<LogRecord[]> {
    return this.#guard(`reading logs of trial ${trialId}`, async () => {
      const rows = await this.#b.db.selectFrom('logs').selectAll().where('trial_id', '=', trialId).orderBy('seq').execute();
      return rows.map(rowToLog);
    });
  }

  /**
   * Reads and decodes the whole store: the database engine's own check (engineCheck), then every task, run and trial
   * record, every samples blob and every log, with what each damaged one is. Keyset paging keeps memory bounded.
   */
  async checkIntegrity(): Promise<IntegrityReport> {
    const db = this.#b.db;
    const problems: IntegrityProblem[] = [];
    const add = (part: string, key: string | null, problem: string) => problems.push({ part, key, problem });
    const { engine, problems: found } = await this.#b.engineCheck();
    problems.push(...found);
    const read = { trials: 0, samples: 0, logs: 0 };
    const scan = async (part: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        add(part, null, `cannot be read: ${errorMessage(err)}`);
      }
    };
    await scan('tasks', async () => {
      for (const r of await db.selectFrom('tasks').select(['commit', 'json']).execute()) {
        if (!parses(r.json)) add('tasks', r.commit, `task ${r.commit}: its record is not valid JSON`);
      }
    });
    await scan('runs', async () => {
      for (const r of await db.selectFrom('runs').select(['id', 'config_json']).execute()) {
        if (!parses(r.config_json)) add('runs', r.id, `run ${r.id}: its config is not valid JSON`);
      }
    });
    await scan('trials', async () => {
      for (let after = -1; ; ) {
        const rows = await db.selectFrom('trials').selectAll().where('seq', '>', after).orderBy('seq').limit(CHECK_PAGE).execute();
        for (const r of rows) {
          read.trials++;
          const bad = (['metrics_json', 'deviations_json', 'failure_json', 'correctness_json', 'probe_outputs_json'] as const).filter((c) => r[c] !== null && !parses(r[c]));
          if (bad.length > 0) add('trials', r.id, `trial ${r.id}: ${bad.join(', ')} not valid JSON`);
        }
        if (rows.length < CHECK_PAGE) break;
        after = Number(rows[rows.length - 1]!.seq);
      }
    });
    await scan('samples', async () => {
      for (let after = ''; ; ) {
        const rows = await db.selectFrom('samples').selectAll().where('trial_id', '>', after).orderBy('trial_id').limit(CHECK_BLOBS).execute();
        for (const r of rows) {
          read.samples++;
          try {
            const n = decodeSamples(r.trial_id, r.encoding, r.data).length;
            if (n !== Number(r.count)) add('samples', r.trial_id, `samples of trial ${r.trial_id}: ${n} decoded, ${r.count} recorded`);
          } catch (err) {
            add('samples', r.trial_id, `samples of trial ${r.trial_id}: unreadable (${errorMessage(err)})`);
          }
        }
        if (rows.length < CHECK_BLOBS) break;
        after = rows[rows.length - 1]!.trial_id;
      }
    });
    await scan('logs', async () => {
      for (let after = { trial: '', seq: -1 }; ; ) {
        const rows = await db
          .selectFrom('logs')
          .selectAll()
          .where((eb) => eb.or([eb('trial_id', '>', after.trial), eb.and([eb('trial_id', '=', after.trial), eb('seq', '>', after.seq)])]))
          .orderBy('trial_id')
          .orderBy('seq')
          .limit(CHECK_BLOBS)
          .execute();
        for (const r of rows) {
          read.logs++;
          const what = `log ${r.seq} (${r.kind}) of trial ${r.trial_id}`;
          try {
            const size = rowToLogBytes(r).length;
            if (size !== Number(r.size)) add('logs', `${r.trial_id}#${r.seq}`, `${what}: ${size} bytes decoded, ${r.size} recorded`);
          } catch (err) {
            add('logs', `${r.trial_id}#${r.seq}`, `${what}: unreadable (${errorMessage(err)})`);
          }
        }
        if (rows.length < CHECK_BLOBS) break;
        const last = rows[rows.length - 1]!;
        after = { trial: last.trial_id, seq: Number(last.seq) };
      }
    });
    return { ok: problems.length === 0, engine, read, problems: problems.slice(0, MAX_LISTED), more: Math.max(0, problems.length - MAX_LISTED) };
  }

  acquireRunLease(keys: readonly string[], holder: LeaseHolder, opts: { now?: Date } = {}): Promise<LeaseResult> {
    return this.#guard(`taking the run lease for ${holder.runId}`, async () => {
      const db = this.#b.db;
      const now = opts.now ?? new Date();
      const at = now.toISOString();
      const wanted = [...new Set(keys)].sort();
      const current: HeldLease[] = [];
      for (let i = 0; i < wanted.length; i += KEY_CHUNK) {
        const rows = await db.selectFrom('run_leases').selectAll().where('key', 'in', wanted.slice(i, i + KEY_CHUNK)).execute();
        current.push(...rows.map(rowToLease));
      }
      const live = current.find((l) => l.runId !== holder.runId && !leaseDead(l, now));
      if (live !== undefined) return { status: 'held', holder: live };
      // One transaction: drop the dead holders' leases (exactly those rows: a lease renewed meanwhile stays), then
      // insert ours; a key another run took meanwhile keeps its holder (do nothing) and is found below.
      const statements: CompiledQuery[] = current
        .filter((l) => l.runId !== holder.runId)
        .map((l) => db.deleteFrom('run_leases').where('key', '=', l.key).where('run_id', '=', l.runId).where('heartbeat_at', '=', l.heartbeatAt).compile());
      for (let i = 0; i < wanted.length; i += KEY_CHUNK) {
        const values = wanted.slice(i, i + KEY_CHUNK).map((key) => ({ key, run_id: holder.runId, host: holder.host, pid: holder.pid, acquired_at: at, heartbeat_at: at }));
        statements.push(db.insertInto('run_leases').values(values).onConflict((oc) => oc.column('key').doNothing()).compile());
      }
      await this.#b.write(statements);
      for (let i = 0; i < wanted.length; i += KEY_CHUNK) {
        const other = await db.selectFrom('run_leases').selectAll().where('key', 'in', wanted.slice(i, i + KEY_CHUNK)).where('run_id', '!=', holder.runId).executeTakeFirst();
        if (other !== undefined) {
          // All or none: give back what this call took.
          await this.#b.write([db.deleteFrom('run_leases').where('run_id', '=', holder.runId).where('key', 'in', wanted).compile()]);
          return { status: 'held', holder: rowToLease(other) };
        }
      }
      return { status: 'acquired' };
    });
  }

  renewRunLease(runId: string): Promise<void> {
    return this.#guard(`renewing the run lease of ${runId}`, async () => {
      await this.#b.write([this.#b.db.updateTable('run_leases').set({ heartbeat_at: new Date().toISOString() }).where('run_id', '=', runId).compile()]);
    });
  }

  releaseRunLease(runId: string): Promise<void> {
    return this.#guard(`giving back the run lease of ${runId}`, async () => {
      await this.#b.write([this.#b.db.deleteFrom('run_leases').where('run_id', '=', runId).compile()]);
    });
  }

  saveTaskStop(stop: TaskStopRecord): Promise<void> {
    return this.#guard(`saving the stop of task ${stop.taskCommit}`, async () => {
      const row = taskStopToRow(stop);
      const { task_commit: _t, config_key: _c, ...rest } = row;
      await this.#b.db
        .insertInto('task_stops')
        .values(row)
        .onConflict((oc) => oc.columns(['task_commit', 'config_key']).doUpdateSet(rest))
        .execute();
    });
  }

  listTaskStops(taskCommit?: string): Promise<TaskStopRecord[]> {
    return this.#guard('listing task stops', async () => {
      let q = this.#b.db.selectFrom('task_stops').selectAll();
      if (taskCommit !== undefined) q = q.where('task_commit', '=', taskCommit);
      const rows = await q.orderBy('task_commit').orderBy('config_key').execute();
      return rows.map(rowToTaskStop);
    });
  }

  async #guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw storeError(this.location, what, err);
    }
  }
}

function rowToLease(r: Selectable<RunLeasesTable>): HeldLease {
  return { key: r.key, runId: r.run_id, host: r.host, pid: r.pid === null ? null : Number(r.pid), acquiredAt: r.acquired_at, heartbeatAt: r.heartbeat_at };
}

function applyFilter<O>(q: SelectQueryBuilder<Database, 'trials', O>, f: TrialFilter): SelectQueryBuilder<Database, 'trials', O> {
  let out = q;
  if (f.taskCommit !== undefined) out = out.where('task_commit', '=', f.taskCommit);
  if (f.variantId !== undefined) out = out.where('variant_id', '=', f.variantId);
  if (f.runId !== undefined) out = out.where('run_id', '=', f.runId);
  if (f.dataSource !== undefined) out = out.where('data_source', '=', f.dataSource);
  if (f.status !== undefined) out = out.where('status', '=', f.status);
  if (f.configKey !== undefined) out = out.where('config_key', '=', f.configKey);
  return out;
}
