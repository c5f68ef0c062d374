import { Counter, Gauge, type Registry } from 'prom-client';
import { registry as defaultRegistry } from '../../observability/metrics.js';

export interface ConnectorMetrics {
  requests: Counter<'platform' | 'endpoint' | 'status'>;
  errors: Counter<'platform' | 'endpoint' | 'kind'>;
  waitSeconds: Counter<'platform' | 'endpoint' | 'reason'>;
  remaining: Gauge<'platform' | 'endpoint'>;
  cacheHits: Counter<'platform' | 'endpoint'>;
}

const cache = new WeakMap<Registry, ConnectorMetrics>();

function existing<T>(registry: Registry, name: string, make: () => T): T {
  const found = registry.getSingleMetric(name);
  return found === undefined ? make() : (found as T);
}

/** The connectors' metrics, registered once on the project's registry (or a test's own). */
export function connectorMetrics(registry: Registry = defaultRegistry): ConnectorMetrics {
  const known = cache.get(registry);
  if (known) return known;
  const registers = [registry];
  const metrics: ConnectorMetrics = {
    requests: existing(
      registry,
      'socialpulse_connector_requests_total',
      () =>
        new Counter({
          name: 'socialpulse_connector_requests_total',
          help: 'Outbound platform HTTP requests by platform, endpoint and response status (or "network")',
          labelNames: ['platform', 'endpoint', 'status'] as const,
          registers,
        }),
    ),
    errors: existing(
      registry,
      'socialpulse_connector_errors_total',
      () =>
        new Counter({
          name: 'socialpulse_connector_errors_total',
          help: 'Platform errors by kind (rate_limited, usage_cap_exceeded, quota_exceeded, auth_expired, transient, ...)',
          labelNames: ['platform', 'endpoint', 'kind'] as const,
          registers,
        }),
    ),
    waitSeconds: existing(
      registry,
      'socialpulse_connector_wait_seconds_total',
      () =>
        new Counter({
          name: 'socialpulse_connector_wait_seconds_total',
          help: 'Seconds spent waiting before platform requests, by reason (budget, backoff)',
          labelNames: ['platform', 'endpoint', 'reason'] as const,
          registers,
        }),
    ),
    remaining: existing(
      registry,
      'socialpulse_connector_budget_remaining',
      () =>
        new Gauge({
          name: 'socialpulse_connector_budget_remaining',
          help: 'Requests (or quota units / percent for Meta) left in the current window, as last announced',
          labelNames: ['platform', 'endpoint'] as const,
          registers,
        }),
    ),
    cacheHits: existing(
      registry,
      'socialpulse_connector_not_modified_total',
      () =>
        new Counter({
          name: 'socialpulse_connector_not_modified_total',
          help: 'Conditional requests answered 304 Not Modified and served from the cache',
          labelNames: ['platform', 'endpoint'] as const,
          registers,
        }),
    ),
  };
  cache.set(registry, metrics);
  return metrics;
}
