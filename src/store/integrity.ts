/** One thing `checkIntegrity` found damaged: which part of the store, which record (when known), and what. */
export interface IntegrityProblem {
  /** `file` (the database itself), or the table: `trials`, `samples`, `logs`, `tasks`, `runs`... */
  part: string;
  /** The record: a trial id, `<trial id>#<log seq>`, a task commit; null for the file or a whole table. */
  key: string | null;
  /** Says what is damaged, in words. */
  problem: string;
}

/** What `isobench status --check` reports. */
export interface IntegrityReport {
  ok: boolean;
  /** What the database engine itself checked (`integrity_check ok`, `row checks only`). */
  engine: string;
  /** Records read and decoded. */
  read: { trials: number; samples: number; logs: number };
  /** Up to MAX_LISTED problems; `more` counts the ones beyond. */
  problems: IntegrityProblem[];
  more: number;
}

export const MAX_LISTED = 100;
