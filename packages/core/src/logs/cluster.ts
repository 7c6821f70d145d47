/**
 * Log template clustering: mask the variable parts of each message, then group messages whose token
 * sequences match, Drain-style (He et al., ICWS 2017). Pure and deterministic: the same messages in
 * the same order always give the same templates.
 */

/** What a masked variable looks like in a template. */
export const WILDCARD = '<*>';

// Order matters: wider shapes (URLs, emails, UUIDs, IPs) go before the numbers they contain.
const MASKS: readonly RegExp[] = [
  /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, // URL
  /\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b/g, // email
  /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, // UUID
  /\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b/gi, // date[time]
  /\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b/g, // time of day
  /(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.])/g, // IPv4[:port]
  /(?<![\w:])(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{1,4}(?![\w:])/gi, // IPv6 (uncompressed or mostly so)
  /(?<![\w/.])(?:\.{0,2}\/[\w.@%+~-]+)+\/?/g, // Unix path
  /\b[a-z]:\\[^\s"']*/gi, // Windows path
  /"[^"\n]*"|(?<!\w)'[^'\n]*'(?!\w)/g, // quoted value
  /\b0x[0-9a-f]+\b/gi, // hex literal
  /\b(?=[a-f]*\d)(?=\d*[a-f])[0-9a-f]{8,}\b/gi, // bare hex id: commit, span or request id
  /\d+(?:\.\d+)*/g, // number, version, decimal; also inside identifiers such as `blk_123`
];

const RUNS_OF_WILDCARDS = /(?:<\*>)+/g;

/**
 * Replaces the variable parts of a log message — URLs, emails, UUIDs, IPs, paths, quoted values,
 * hex ids and numbers — with `<*>`. `extraMasks` (global regexes) run first.
 */
export function maskMessage(message: string, extraMasks: readonly RegExp[] = []): string {
  let out = message;
  for (const mask of [...extraMasks, ...MASKS]) out = out.replace(mask, WILDCARD);
  return out.replace(RUNS_OF_WILDCARDS, WILDCARD);
}

/** Splits a masked message into tokens on whitespace. */
export function tokenize(masked: string): string[] {
  return masked.split(/\s+/).filter((t) => t.length > 0);
}

export interface ClusterOptions {
  /**
   * Share of positions that must match for a message to join an existing template of the same
   * length (Drain's `st`). Lower merges more eagerly.
   */
  similarity?: number;
  /** Leading tokens used to route a message before comparing (Drain's tree depth − 3). */
  prefixTokens?: number;
  /** Extra global regexes masked before the built-in ones, e.g. a system's block-id format. */
  extraMasks?: readonly RegExp[];
}

/** One template and the messages it covers. */
export interface LogTemplate {
  /** Tokens joined by single spaces, variables as `<*>`. */
  template: string;
  count: number;
  /** Indexes into the input, ascending. */
  indices: number[];
}

interface Cluster {
  tokens: string[];
  indices: number[];
}

const hasDigit = /\d/;

// A prefix token that varies (a number, a masked value) must not split the routing tree.
function routeToken(token: string): string {
  return token === WILDCARD || hasDigit.test(token) ? WILDCARD : token;
}

/** Share of positions where the template and the message agree; a wildcard agrees with anything. */
function similarity(template: readonly string[], tokens: readonly string[]): { score: number; wildcards: number } {
  let same = 0;
  let wildcards = 0;
  for (let i = 0; i < template.length; i++) {
    const t = template[i];
    if (t === WILDCARD) wildcards++;
    else if (t === tokens[i]) same++;
  }
  return { score: template.length === 0 ? 1 : same / template.length, wildcards };
}

/**
 * Groups messages into templates. Messages are masked and tokenised; identical token sequences
 * share a template; otherwise a message joins the most similar template of the same length and
 * routing prefix when at least `similarity` of its positions match, and the positions that differ
 * become `<*>`. Result: most frequent first, ties by first occurrence.
 */
export function clusterMessages(messages: readonly string[], options: ClusterOptions = {}): LogTemplate[] {
  const threshold = options.similarity ?? 0.5;
  const prefixTokens = options.prefixTokens ?? 1;
  const extraMasks = options.extraMasks ?? [];
  const exact = new Map<string, Cluster>();
  const buckets = new Map<string, Cluster[]>();
  const all: Cluster[] = [];

  for (const [index, message] of messages.entries()) {
    const masked = maskMessage(message, extraMasks);
    const seen = exact.get(masked);
    if (seen) {
      seen.indices.push(index);
      continue;
    }
    const tokens = tokenize(masked);
    const key = [String(tokens.length), ...tokens.slice(0, prefixTokens).map(routeToken)].join('\u0000');
    let bucket = buckets.get(key);
    if (!bucket) {
      bucket = [];
      buckets.set(key, bucket);
    }
    let best: Cluster | undefined;
    let bestScore = -1;
    let bestWildcards = -1;
    for (const cluster of bucket) {
      const { score, wildcards } = similarity(cluster.tokens, tokens);
      // Ties go to the more general template, as in Drain.
      if (score > bestScore || (score === bestScore && wildcards > bestWildcards)) {
        best = cluster;
        bestScore = score;
        bestWildcards = wildcards;
      }
    }
    if (best && bestScore >= threshold) {
      best.tokens = best.tokens.map((t, i) => (t === tokens[i] ? t : WILDCARD));
      best.indices.push(index);
      exact.set(masked, best);
    } else {
      const cluster: Cluster = { tokens, indices: [index] };
      bucket.push(cluster);
      all.push(cluster);
      exact.set(masked, cluster);
    }
  }

  return all
    .map((c) => ({ template: c.tokens.join(' '), count: c.indices.length, indices: c.indices }))
    .sort((a, b) => b.count - a.count || (a.indices[0] ?? 0) - (b.indices[0] ?? 0));
}
