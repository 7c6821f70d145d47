import type { Rule } from '../engine/rule.js';

/** Every rule the engine runs, in no particular order (findings are sorted). */
export const rules: readonly Rule[] = [];
