import type { Rule } from '../engine/rule.js';
import { deployRecentCorrelated } from './deploy.recent_correlated.js';
import { incidentDuplicateOpen } from './incident.duplicate_open.js';
import { logsErrorSpike } from './logs.error_spike.js';
import { routingTeam } from './routing.team.js';
import { tracesTailLatency } from './traces.tail_latency.js';

/** Every rule the engine runs, in no particular order (findings are sorted). */
export const rules: readonly Rule[] = [
  deployRecentCorrelated,
  logsErrorSpike,
  tracesTailLatency,
  incidentDuplicateOpen,
  routingTeam,
];
