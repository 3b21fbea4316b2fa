import { IsobenchError } from '../core/index.js';
import type { SimEngineConfig } from './config.js';
import type { Engine, ExecOptions, ExecResult, PrepareResult, PreparedVariant, ServerHandle, ServerStartOptions, VariantSpec } from './types.js';

/** The sim engine: engineer 2's simulated server, in-process, one per variant. (Pending src/sim's index.) */
export class SimEngine implements Engine {
  readonly kind = 'sim' as const;
  constructor(private readonly config: SimEngineConfig) {}
  prepare(_spec: VariantSpec, _signal: AbortSignal): Promise<PrepareResult> {
    return Promise.reject(new IsobenchError('E_INTERNAL', `sim engine not ready yet (${this.config.runId})`));
  }
  startServer(_v: PreparedVariant, _o: ServerStartOptions, _s: AbortSignal): Promise<ServerHandle> {
    return Promise.reject(new IsobenchError('E_INTERNAL', 'sim engine not ready yet'));
  }
  exec(_v: PreparedVariant, _o: ExecOptions, _s: AbortSignal): Promise<ExecResult> {
    return Promise.reject(new IsobenchError('E_INTERNAL', 'sim engine not ready yet'));
  }
  cleanup(): Promise<void> {
    return Promise.resolve();
  }
}
