/**
 * The GPU count of a task's `gpu_config`: `H100:2` → 2, `8xH100` / `8 x H100` → 8, a bare name (`A100`) → 1;
 * undefined when there is no config (absent or blank).
 */
export function gpuCount(gpuConfig: string | undefined): number | undefined {
  if (gpuConfig === undefined || gpuConfig.trim() === '') return undefined;
  const m = /:(\d+)\s*$/.exec(gpuConfig) ?? /^(\d+)\s*x/i.exec(gpuConfig.trim());
  return m ? Number(m[1]) : 1;
}
