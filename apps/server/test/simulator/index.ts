/** The platform simulator's public surface for tests and benchmarks. */
export {
  startSimulator,
  type FaultKind,
  type FaultRule,
  type SimAccountInfo,
  type SimAppCredentials,
  type SimStats,
  type Simulator,
  type SimulatorOptions,
} from './simulator.js';
export {
  PLATFORMS,
  createManualClock,
  type LimitRule,
  type LimitWindow,
  type ManualClock,
  type Platform,
} from './core.js';
