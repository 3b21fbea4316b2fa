import type { RunEvent } from '../../run/index.js';

/** Draws run events; `close` ends any live view before the results table is printed. */
export interface Reporter {
  onEvent(event: RunEvent): void;
  close(): void;
}
