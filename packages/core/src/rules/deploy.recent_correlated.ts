import { defineRule } from '../engine/rule.js';
import type { Deploy } from '../schemas/context.js';
import type { Evidence } from '../schemas/incident.js';
import { timestamp } from '../schemas/time.js';
import { clip, formatDuration, MINUTE_MS, plural, shellQuote } from './util.js';

// Deploys cited as evidence besides the primary one; more would drown the page.
const MAX_CITED = 5;

function relative(deployMs: number, now: number): string {
  const delta = now - deployMs;
  if (delta === 0) return 'at the moment the alert started';
  return delta > 0
    ? `${formatDuration(delta)} before the alert started`
    : `${formatDuration(delta)} after the alert started (within the clock-skew allowance)`;
}

function describe(deploy: Deploy, now: number): string {
  const by = deploy.author ? ` by ${deploy.author}` : '';
  const message = deploy.message ? `: "${clip(deploy.message, 200)}"` : '';
  return `commit ${deploy.commit}${by} deployed ${deploy.service} at ${deploy.when}, ${relative(Date.parse(deploy.when), now)}${message}`;
}

/**
 * A deploy of the alerting service shortly before the alert: the most common cause of a fresh
 * incident. Window [now − deploy.windowMinutes, now + deploy.skewMinutes]; HIGH (confidence high)
 * when the newest such deploy is at most deploy.closeMinutes before the start or after it, else
 * MEDIUM. The newest deploy is the primary suspect; older ones in the window are cited too.
 */
export const deployRecentCorrelated = defineRule({
  id: 'deploy.recent_correlated',
  description: 'A deploy of the same service shortly before the alert started',
  evaluate(ctx) {
    const { deploy: cfg } = ctx.config;
    const from = ctx.now - cfg.windowMinutes * MINUTE_MS;
    const to = ctx.now + cfg.skewMinutes * MINUTE_MS;
    const candidates = ctx.context.deploys
      .map((deploy) => ({ deploy, ms: Date.parse(deploy.when) }))
      .filter(({ deploy, ms }) => deploy.service === ctx.service && ms >= from && ms <= to)
      // Newest first; the commit breaks ties so the answer never depends on storage order.
      .sort((a, b) => b.ms - a.ms || a.deploy.commit.localeCompare(b.deploy.commit));
    const primary = candidates[0];
    if (!primary) return [];

    const close = primary.ms >= ctx.now - cfg.closeMinutes * MINUTE_MS;
    const { deploy } = primary;
    const by = deploy.author ? ` by ${deploy.author}` : '';
    const others = candidates.length > 1 ? ` (${plural(candidates.length - 1, 'other deploy')} in the window)` : '';
    const evidence: Evidence[] = candidates.slice(0, 1 + MAX_CITED).map(({ deploy: d, ms }) => ({
      kind: 'deploy',
      ref: d.commit,
      detail: describe(d, ctx.now),
      // As the deploy tool wrote it when valid, so it reads the same as in the detail.
      at: timestamp.safeParse(d.when).success ? d.when : new Date(ms).toISOString(),
    }));
    const commit = shellQuote(deploy.commit);
    return [
      {
        ruleId: 'deploy.recent_correlated',
        severity: close ? 'high' : 'medium',
        confidence: close ? 'high' : 'medium',
        summary: `Deploy of ${ctx.service} (commit ${deploy.commit}${by}) ${relative(primary.ms, ctx.now)}${others}`,
        suggestion: `Inspect the change, and roll it back if it is the cause: git show --stat ${commit} && git revert --no-edit ${commit}`,
        evidence,
      },
    ];
  },
});
