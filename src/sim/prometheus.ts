/** A Prometheus histogram with fixed buckets (cumulative counts are computed when rendered). */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private total = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {
    this.counts = new Array<number>(buckets.length).fill(0);
  }

  observe(value: number): void {
    this.sum += value;
    this.total++;
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= (this.buckets[i] ?? Infinity)) {
        this.counts[i] = (this.counts[i] ?? 0) + 1;
        return;
      }
    }
  }

  render(labels: string): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    let cum = 0;
    this.buckets.forEach((le, i) => {
      cum += this.counts[i] ?? 0;
      lines.push(`${this.name}_bucket{${labels},le="${le.toFixed(3).replace(/\.?0+$/, '') || '0'}"} ${cum}`);
    });
    lines.push(`${this.name}_bucket{${labels},le="+Inf"} ${this.total}`);
    lines.push(`${this.name}_count{${labels}} ${this.total}`, `${this.name}_sum{${labels}} ${this.sum}`);
    return lines.join('\n');
  }
}

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
const ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const E2E_BUCKETS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

/** The counters and histograms the sim exports under vLLM's metric names. */
export class SimMetrics {
  promptTokens = 0;
  generationTokens = 0;
  readonly finished = { stop: 0, length: 0, abort: 0 };
  readonly ttft = new Histogram('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', LATENCY_BUCKETS);
  readonly itl = new Histogram('vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', ITL_BUCKETS);
  readonly tpot = new Histogram('vllm:time_per_output_token_seconds', 'Histogram of time per output token in seconds.', ITL_BUCKETS);
  readonly e2e = new Histogram('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', E2E_BUCKETS);
  readonly queue = new Histogram('vllm:request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.', E2E_BUCKETS);

  /** Prometheus text exposition of everything, with the gauges given by the caller. */
  render(model: string, gauges: { running: number; waiting: number; kvUsage: number }): string {
    const l = `model_name="${model.replace(/["\\\n]/g, '_')}"`;
    const gauge = (name: string, help: string, value: number) => `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name}{${l}} ${value}`;
    const counter = (name: string, help: string, value: number) => `# HELP ${name} ${help}\n# TYPE ${name} counter\n${name}{${l}} ${value}`;
    const success = Object.entries(this.finished)
      .map(([reason, n]) => `vllm:request_success_total{${l},finished_reason="${reason}"} ${n}`)
      .join('\n');
    return [
      gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', gauges.running),
      gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', gauges.waiting),
      gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', gauges.kvUsage),
      gauge('vllm:gpu_cache_usage_perc', 'GPU KV-cache usage. 1 means 100 percent usage.', gauges.kvUsage),
      counter('vllm:prompt_tokens_total', 'Number of prefill tokens processed.', this.promptTokens),
      counter('vllm:generation_tokens_total', 'Number of generation tokens processed.', this.generationTokens),
      `# HELP vllm:request_success_total Count of successfully processed requests.\n# TYPE vllm:request_success_total counter\n${success}`,
      ...[this.ttft, this.itl, this.tpot, this.e2e, this.queue].map((h) => h.render(l)),
      '',
    ].join('\n');
  }
}
