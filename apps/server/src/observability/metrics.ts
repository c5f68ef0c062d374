import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The one Prometheus registry; every metric is named socialpulse_<subsystem>_<name>_<unit>. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'socialpulse_process_' });

export const httpRequestDuration = new Histogram({
  name: 'socialpulse_http_request_duration_seconds',
  help: 'HTTP request duration by route, method and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const importRecords = new Counter({
  name: 'socialpulse_import_records_total',
  help: 'Imported records by outcome (inserted, updated, unchanged, rejected)',
  labelNames: ['outcome', 'source'] as const,
  registers: [registry],
});

export const importRuns = new Counter({
  name: 'socialpulse_import_runs_total',
  help: 'Import runs by final status',
  labelNames: ['status', 'source'] as const,
  registers: [registry],
});

export const importBatchDuration = new Histogram({
  name: 'socialpulse_import_batch_duration_seconds',
  help: 'Time to write one import batch to PostgreSQL',
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

/** Registers gauges that read the pool at scrape time. */
export function registerPoolMetrics(
  stats: () => { total: number; idle: number; waiting: number },
): void {
  const make = (
    name: string,
    help: string,
    pick: (s: ReturnType<typeof stats>) => number,
  ): void => {
    if (registry.getSingleMetric(name)) registry.removeSingleMetric(name);
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(pick(stats()));
      },
    });
  };
  make(
    'socialpulse_db_pool_connections',
    'Connections open in the PostgreSQL pool',
    (s) => s.total,
  );
  make(
    'socialpulse_db_pool_idle_connections',
    'Idle connections in the PostgreSQL pool',
    (s) => s.idle,
  );
  make(
    'socialpulse_db_pool_waiting_requests',
    'Queries waiting for a pool connection',
    (s) => s.waiting,
  );
}
