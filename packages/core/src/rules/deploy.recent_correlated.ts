import { windowEnd } from '../config.js';
import { defineRule } from '../engine/rule.js';
import type { Deploy } from '../schemas/context.js';
import type { Evidence, Finding } from '../schemas/incident.js';
import { toMillis } from '../schemas/time.js';
import { clip, errorAnalysis, evidenceTime, formatDuration, gitRevision, MINUTE_MS, plural } from './util.js';

// Deploys cited as evidence besides the primary one; more would drown the page.
const MAX_CITED = 5;

interface Candidate {
  deploy: Deploy;
  ms: number;
}

function relative(deployMs: number, now: number): string {
  const delta = now - deployMs;
  if (delta === 0) return 'at the moment the alert started';
  return delta > 0
    ? `${formatDuration(delta)} before the alert started`
    : `${formatDuration(delta)} after the alert started`;
}

function describe(deploy: Deploy, ms: number, now: number): string {
  const by = deploy.author ? ` by ${deploy.author}` : '';
  const message = deploy.message ? `: "${clip(deploy.message, 200)}"` : '';
  return `commit ${deploy.commit}${by} deployed ${deploy.service} at ${deploy.when}, ${relative(ms, now)}${message}`;
}

const evidenceOf = (candidates: Candidate[], now: number): Evidence[] =>
  candidates.slice(0, 1 + MAX_CITED).map(({ deploy, ms }) => ({
    kind: 'deploy',
    ref: deploy.commit,
    detail: describe(deploy, ms, now),
    // As the deploy tool wrote it when valid, so it reads the same as in the detail.
    at: evidenceTime(deploy.when),
  }));

const byAuthor = (d: Deploy) => (d.author ? ` by ${d.author}` : '');

/**
 * A deploy of the alerting service shortly before the alert: the most common cause of a fresh
 * incident. Window [start − deploy.windowMinutes, start + deploy.skewMinutes]; deploys of other
 * services never count. The newest deploy made before the errors began is the suspect (a deploy after
 * the first new error line cannot have triggered it, and the finding cites that onset): HIGH
 * (confidence high) when it is at most deploy.closeMinutes before the start, else MEDIUM; only deploys
 * after the onset → LOW. Deploys later than the skew allowance, up to deploy.duringMinutes after the
 * start (and the moment of correlation), are reported as made during the incident: MEDIUM, low
 * confidence — a suspect or a fix attempt.
 */
export const deployRecentCorrelated = defineRule({
  id: 'deploy.recent_correlated',
  description: 'A deploy of the same service shortly before the alert started, or during the incident',
  evaluate(ctx) {
    const { deploy: cfg } = ctx.config;
    const skewEnd = ctx.now + cfg.skewMinutes * MINUTE_MS;
    const duringEnd = windowEnd(ctx.now, ctx.correlatedAt, cfg.duringMinutes);
    const ours = ctx.context.deploys
      .filter((deploy) => deploy.service === ctx.service)
      .map((deploy) => ({ deploy, ms: toMillis(deploy.when) }))
      // Newest first; the commit breaks ties so the answer never depends on storage order.
      .sort((a, b) => b.ms - a.ms || a.deploy.commit.localeCompare(b.deploy.commit));
    const before = ours.filter(({ ms }) => ms >= ctx.now - cfg.windowMinutes * MINUTE_MS && ms <= skewEnd);
    const during = ours.filter(({ ms }) => ms > skewEnd && ms <= duringEnd);
    return [...suspectFindings(before), ...duringFindings(during)];

    function suspectFindings(candidates: Candidate[]): Finding[] {
      if (candidates.length === 0) return [];
      const analysis = errorAnalysis(ctx);
      const onset = analysis.total >= ctx.config.logs.minErrors ? analysis.onsetMs : null;
      const onsetAt = onset === null ? '' : new Date(onset).toISOString();
      const blamable = onset === null ? candidates : candidates.filter(({ ms }) => ms <= onset);
      const primary = blamable[0];
      if (!primary) {
        const [latest] = candidates as [Candidate];
        return [
          {
            ruleId: 'deploy.recent_correlated',
            severity: 'low',
            confidence: 'medium',
            summary: `Deploy of ${ctx.service} (commit ${latest.deploy.commit}${byAuthor(latest.deploy)}) ${relative(latest.ms, ctx.now)} came after the errors began (first new error line at ${onsetAt}): not the trigger`,
            suggestion: `Look for what changed before ${onsetAt} instead; the deploy may still have made it worse: git show --stat ${gitRevision(latest.deploy.commit)}`,
            evidence: [
              ...evidenceOf(candidates, ctx.now),
              {
                kind: 'log',
                ref: onsetAt,
                detail: `the first new error line of ${ctx.service} was logged at ${onsetAt}`,
                at: onsetAt,
              },
            ],
          },
        ];
      }
      const close = primary.ms >= ctx.now - cfg.closeMinutes * MINUTE_MS;
      const { deploy } = primary;
      const ranked = [primary, ...candidates.filter((c) => c !== primary)];
      const why =
        candidates.length === 1
          ? ''
          : ` (the newest of ${plural(candidates.length, 'deploy')} in the window${onset !== null && blamable.length < candidates.length ? ` made before the errors began at ${onsetAt}` : ''})`;
      const evidence = evidenceOf(ranked, ctx.now);
      if (onset !== null) {
        evidence.push({
          kind: 'log',
          ref: onsetAt,
          detail: `the first new error line of ${ctx.service} was logged at ${onsetAt}`,
          at: onsetAt,
        });
      }
      const commit = gitRevision(deploy.commit);
      return [
        {
          ruleId: 'deploy.recent_correlated',
          severity: close ? 'high' : 'medium',
          confidence: close ? 'high' : 'medium',
          summary: `Deploy of ${ctx.service} (commit ${deploy.commit}${byAuthor(deploy)}) ${relative(primary.ms, ctx.now)}${primary.ms > ctx.now ? ' (within the clock-skew allowance)' : ''}${why}`,
          suggestion: `Inspect the change, and roll it back if it is the cause: git show --stat ${commit} && git revert --no-edit ${commit}`,
          evidence,
        },
      ];
    }

    function duringFindings(candidates: Candidate[]): Finding[] {
      const [latest] = candidates;
      if (!latest) return [];
      const others = candidates.length > 1 ? ` (${plural(candidates.length - 1, 'other deploy')} since the start)` : '';
      return [
        {
          ruleId: 'deploy.recent_correlated',
          severity: 'medium',
          confidence: 'low',
          summary: `Deploy of ${ctx.service} (commit ${latest.deploy.commit}${byAuthor(latest.deploy)}) ${relative(latest.ms, ctx.now)}, during the incident: a suspect or a fix attempt${others}`,
          suggestion: `Check with ${latest.deploy.author ?? 'the deployer'} whether it is a fix, and whether the alert changed after it: git show --stat ${gitRevision(latest.deploy.commit)}`,
          evidence: evidenceOf(candidates, ctx.now),
        },
      ];
    }
  },
});
