/**
 * The grounding gate: an LLM's rewording of the templated report is accepted only if it states
 * nothing the template does not. It checks literals (ids, commands, numbers kept and none invented)
 * and claims (durations and their side of a moment, times, thresholds, names, causes, severities,
 * confidences, findings and advice). Deliberately strict:
 * a false rejection costs a plainer message, a false acceptance puts an invented fact in a page.
 */
import { compareFindings, type Incident } from '@incident-pilot/core';

export type GateVerdict = { ok: true } | { ok: false; reason: string };

// Commit ids, trace ids, fingerprints: 7+ hex digits with at least one digit (so "decade" is a word).
const HEX_ID = /\b(?=[a-f]*\d)[0-9a-f]{7,64}\b/gi;
// Numbers, including decimals; a number inside a longer one does not count as present.
const NUMBER = /(?<![\d.])\d+(?:\.\d+)?(?![\d]|\.\d)/g;
const NUMBER_WORDS: Record<string, number> = {
  zero: 0,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  fifteen: 15,
  twenty: 20,
  thirty: 30,
  forty: 40,
  fifty: 50,
  sixty: 60,
  ninety: 90,
  hundred: 100,
  thousand: 1000,
  dozen: 12,
  twice: 2,
  double: 2,
};
const UNITS: [RegExp, string][] = [
  [/^(ms|msecs?|milliseconds?)$/, 'ms'],
  [/^(s|secs?|seconds?)$/, 's'],
  [/^(m|mins?|minutes?)$/, 'min'],
  [/^(h|hrs?|hours?)$/, 'h'],
  [/^(d|days?)$/, 'd'],
  [/^(%|percent|per cent|pct)$/, '%'],
];
const QUANTITY =
  /(?<![\w.])(\d+(?:\.\d+)?)\s?(%|percent|per cent|pct|ms|msecs?|milliseconds?|secs?|seconds?|s|mins?|minutes?|m|hrs?|hours?|h|days?|d)(?![\w])/gi;
// "1 of 3 alerts resolved": both numbers are in the template, the pair must be too. A number that ends a
// word ("p99 of 2400ms") counts nothing.
const FRACTION = /(?<![\w.])(\d+)\s+(?:of|out of)\s+(\d+)(?![\d]|\.\d)/gi;
const CLOCK = /(?<![\d:])\d{1,2}:\d{2}(?::\d{2})?(?![\d])/g;
const DATE = /\b\d{4}-\d{2}-\d{2}\b/g;
const URL = /\bhttps?:\/\/[^\s<>"'`)\]]+/gi;
// A token with a separator inside (service-name, host.domain, path/part, user@host, snake_case).
const COMPOUND = /[A-Za-z0-9][\w.\-/:@]*[-_./:@][\w.\-/:@]*[A-Za-z0-9]/g;
const HANDLE = /(?<![\w.])@[A-Za-z][\w.-]*/g;
const RELATIVE_TIME =
  /\b(?:yesterday|today|tonight|last (?:night|week|hour)|this (?:morning|afternoon|evening|week)|[\w-]+ (?:seconds?|minutes?|hours?|days?) ago)\b/gi;

// A span of time and the moment it is before or after: "4 min before the alert", "the 10 min after its
// start", "the hour before the window", "four minutes following the alert". Read: the span (a number in
// digits or words and its unit, or "an hour"), the relation word, and the first word of what it is measured
// from, past "the", "its", "first" and a name before "alert" ("the HighErrorRate alert", "checkout's
// alert"). Not read: a relation with nothing after it ("4 minutes later": later than what?), a span after
// the relation ("after 4 minutes"), and a point in time ("before 03:57"), whose right direction depends on
// the subject ("deployed before 03:57" and "open since 03:57" are both true).
const TIME_RELATION = new RegExp(
  `(?:(?<![\\w.])(?:(\\d+(?:\\.\\d+)?)\\s?|(${Object.keys(NUMBER_WORDS).join('|')})\\s+)(ms|msecs?|milliseconds?|secs?|seconds?|s|mins?|minutes?|m|hrs?|hours?|h|days?|d)|(?<!\\bhalf\\s)\\b(?:an?|the)\\s+(second|minute|hour|day))\\s+(before|prior\\s+to|ahead\\s+of|earlier\\s+than|preceding|leading\\s+up\\s+to|up\\s+to|until|till|after|later\\s+than|following|since|into)\\s+(?:(?:the|its|this|that|their|an?|first|initial)\\s+)*(?:[\\w-]+(?:['’]s)?\\s+(?=alert))?([a-z]+)`,
  'gi',
);
// The relations that put the span before its moment; every other one of TIME_RELATION puts it after.
const EARLIER_THAN = /^(?:before|prior to|ahead of|earlier than|preceding|leading up to|up to|until|till)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };
// What a span is measured from, by the word naming it: the alert, its start and the incident are one moment.
const TIME_REFERENCES: [RegExp, string][] = [
  [/^(?:alerts?|alert(?:ed|ing)|start|started|onset|incident|firing|fired|page|paged)$/, 'the alert'],
  [/^errors?$/, 'the errors'],
  [/^(?:deploy\w*|release|rollout|change|commit)$/, 'the deploy'],
];

// A number stated as a threshold or a limit: "1000ms threshold", "1000 ms p99 threshold", "threshold
// 1000ms", "threshold: / of / is 1000 ms", "threshold for checkout: 1000 ms". Not read: a number merely
// beside one ("2400ms, over the threshold", "2400 ms - threshold 1000 ms": a hyphen joins only unspaced),
// and the value an "over threshold:" label introduces ("p99 over threshold: 2400 ms vs 1000 ms").
const THRESHOLD =
  /(?<![\w.])(\d+(?:\.\d+)?)[ \t]?(?:%|ms|s|secs?|seconds?|mins?|minutes?|m|h|hours?)?(?:[ \t]+|-)(?:(?:p\d+|latency)(?:[ \t]+|-))*(?:threshold|limit)s?\b|\b(?!(?<=\b(?:over|above|exceed(?:s|ed|ing)?)[ \t]+)(?:threshold|limit)s?[ \t]*:)(?:threshold|limit)s?(?:[ \t]+for[ \t]+[\w.-]+)?[ \t]*(?:(?:is|was|of|at|[:=(])[ \t]*)?(\d+(?:\.\d+)?)(?![\d]|\.\d)/gi;
// A bound the template states without the word ("5xx rate above 5%"): a rewording may call it a threshold.
const BOUND =
  /\b(?:above|over|below|under|exceed(?:s|ed|ing)?|more than|less than)[ \t]+(\d+(?:\.\d+)?)(?![\d]|\.\d)/gi;

// What starts a shell command or a query: a program an on-call engineer runs, followed by an argument.
// Anywhere a sentence, a clause or a list item may start one ("Next, kubectl delete …"), but not after
// an article or a possessive: that is prose naming a tool ("the git history", "the checkout docker image").
const COMMAND_WORD =
  /(?<![\w./-])(?<!\b(?:the|an?|its|their|our|your)\s+(?:[\w-]+\s+)?)(?:sudo|su|kubectl|k9s|helm|docker|podman|crictl|git|curl|wget|aws|gcloud|az|systemctl|journalctl|psql|mysql|redis-cli|mongosh?|terraform|ansible|ssh|scp|rsync|chmod|chown|rm|mv|dd|mkfs|shutdown|reboot|halt|poweroff|kill|pkill|killall|iptables|npm|npx|yarn|pip3?|eval|exec|nc|ncat|bash|sh|zsh|python3?|perl|ruby)\b(?:\s+[^\s]|(?=\s*(?:[`)\n]|$)))|\b(?:drop|truncate)\s+(?:table|database|schema)\b|\bdelete\s+from\b/gi;
// An option (`-rf`, `--force`) or a shell operator (`&&`, `||`, `$(`, `| sh`).
const COMMAND_SYNTAX = /(?<![\w-])--?[A-Za-z][\w-]*|&&|\|\||\$\(|\|\s*(?:sudo\s+)?(?:ba|z)?sh\b/g;
const CODE_SPAN = /`+([^`]+)`+/g;

const SEVERITY_WORDS = 'critical|high|medium|low|info|informational|moderate|minor|major|severe|urgent|trivial';
// Severity *labels* only, so that "latency is high" in prose is not read as one. Blank space is matched once
// between two parts (`\s*(?:(?:is|of)\s*)?`, not `\s*(?:is|of)?\s*`): runs that may follow each other
// backtrack over a long run of spaces in cubic time.
const SEVERITY_LABEL = new RegExp(
  [
    `\\[(${SEVERITY_WORDS})\\]`,
    `\\((${SEVERITY_WORDS})\\)`,
    `\\b(?:severity|priority|sev)\\s*(?:(?:is|of)\\s*)?(?:[:=\\-–—]\\s*)?\\**(${SEVERITY_WORDS})\\b`,
    `\\b(${SEVERITY_WORDS})[\\s-]+(?:severity|priority)\\b`,
    `^[\\s>*#\\-•\\d.)]*\\**(${SEVERITY_WORDS})\\**\\s*(?::|–|—|\\s-\\s)`,
  ].join('|'),
  'gim',
);
// Upper case is a label too ("CRITICAL"), in any position.
const SEVERITY_CAPS = /\b(CRITICAL|HIGH|MEDIUM|LOW|INFO)\b/g;

// A confidence level said of a finding: the level word next to "confidence"/"confident", in either order
// ("confidence high", "confidence: low", "confidence is medium", "high-confidence", "with moderate
// confidence", "highly confident"), and "not confident" as low. A level word anywhere else is prose
// ("latency is high"), as for severity labels.
const CONFIDENCE = new RegExp(
  [
    '\\bconfiden(?:ce|t)(?:\\s+level)?\\s*(?:(?:is|was|of|at|[:=(\\-–—])\\s*)?(high|medium|moderate|low)\\b',
    '\\b(high|highly|medium|moderate|moderately|low)[\\s-]+confiden(?:ce|t)\\b',
    "(?:\\bnot|n't|\\bnever)\\s+(?:very\\s+|fully\\s+|entirely\\s+|particularly\\s+)?(confident)\\b",
  ].join('|'),
  'gi',
);
const CONFIDENCE_LEVELS: Record<string, string> = {
  high: 'high',
  highly: 'high',
  medium: 'medium',
  moderate: 'medium',
  moderately: 'medium',
  low: 'low',
  confident: 'low',
};

const CAUSAL =
  /\b(caus(?:e|es|ed|ing)|because|due to|root cause|responsible for|(?:led|leads|leading) to|result(?:ed|s|ing)? (?:in|from)|as a result|result of|culprit|blam(?:e|ed|ing)|fault(?:y)?|broke|by mistake|owing to|stem(?:s|med|ming)? from|attributed to|thanks to|consequence of|explain(?:s|ed)?|triggered by|introduced by|(?:is|was) behind|the reason|reason for|source of|traced to)\b/i;
const SOFTENER =
  /\b(minor|trivial|not (?:urgent|critical|serious|important|a concern)|non[- ]urgent|low[- ]priority|no (?:action|further action|impact)(?: is)?(?: needed| required)?|nothing to (?:worry|do)|safe to ignore|can (?:be ignored|wait|be safely ignored)|false (?:alarm|positive)|harmless|benign|cosmetic|all clear|under control|negligible|resolved itself|self[- ]resolved|no need|back to normal|(?:incident|issue|problem|outage|it|everything|all)\s+(?:is|has been|was|now)\s+(?:now\s+)?(?:resolved|fixed|mitigated|recovered|closed|over|stable|healthy))\b/i;
// "Status: resolved": a reassurance while the incident is open, the plain truth once it resolved.
const RESOLVED_STATUS = /\bstatus\s*(?:is\s+)?[:=\-–—]?\s*(?:resolved|fixed|mitigated|recovered|closed|ok|healthy)\b/i;
// Words that turn a statement or a suggestion into its opposite ("do not run: …", "the deploy is unrelated").
const NEGATION =
  /(?<![\w'])(?:not|no|never|none|nothing|nobody|neither|nor|cannot|avoid|unrelated|irrelevant|unlikely|ruled out|[a-z]+n't)(?![\w'])/gi;
// The negation words that dismiss rather than negate: never a rewording of the template's "has no".
const DISMISSAL = /^(?:avoid|unrelated|irrelevant|unlikely|ruled out)$/i;
const ADVICE_MARKER =
  /\b(should|recommend\w*|suggest\w*|consider|advis\w*|try|make sure|ensure|need(?:s)? to|must|please|we advise|it is best)\b/i;
const IMPERATIVE =
  /^(roll|rollback|revert|restart|reboot|redeploy|re-deploy|scale|increase|decrease|raise|lower|disable|enable|drain|fail|page|escalate|notify|contact|call|check|inspect|investigate|review|monitor|delete|remove|clear|flush|purge|kill|add|update|upgrade|downgrade|patch|apply|rotate|restore|block|throttle|ignore|run|execute|stop|pause|resume|bump|cordon|evict|terminate|silence|mute|acknowledge|ack|wait)\b/i;
// A service named as one: "the X service", "service: X".
const SERVICE_CONTEXTS = [
  /\b([a-z][\w-]*(?:\.[\w-]+)*)[`'"]?[ \t]+(?:service|svc|microservice|database|db|cluster|api)(?![\w-])/gi,
  /\bservice[ \t]*:[ \t]*[`'"]?([a-z][\w-]*(?:\.[\w-]+)*)/gi,
];
// A name in the owning team's place: "team: X", "team X", `team="X"`, "team — X", "owner: X", "owned by
// (the) (team) X", the name standing alone (then punctuation, the line's end or "team"). Read only to catch
// a service put there. Not read: "the X team" ("the checkout team" may mean the team that owns checkout), a
// name that opens a clause ("No owning team: api-gateway's alert has no team label"), and a name after "no
// team" or "no owner", which says it has none ("No owning team: api-gateway (no team label)").
const TEAM_CONTEXT =
  /\b(?<!\bno[ \t]+(?:owning[ \t]+)?)(?:team|owner|owned by(?:\s+the)?(?:\s+team)?)\b[ \t]*(?:(?:[:=–—]|(?<=[ \t])-)[ \t]*)?[`'"@]?([a-z][\w-]*(?:\.[\w-]+)*)(?![\w-]|['’]s\b)(?=[ \t]*(?:$|[^\s\w]|team\b))/gim;
// Words in the position of a name: a person ("deployed by X", "X pushed", "team: X"), a service ("the X
// service", "service: X") or a change ("commit X", "version X"; a whole word: "prior" names no PR "ior").
const NAME_CONTEXTS = [
  /\b(?:(?:deployed|pushed|committed|authored|merged|shipped|released|made|approved|reviewed|owned) by|author|owner|assignee|assigned to|ping|contact|ask|escalate to|reach out to|team)\s*:?\s+@?([a-z][\w.-]*)/gi,
  /\b([a-z][\w.-]*)\s+(?:deployed|pushed|committed|merged|shipped|released)\b/gi,
  /\b(?:alert)\s*:\s*[`'"]?([a-z][\w.-]*)/gi,
  /\b(?:commit|sha|revision|version|release|tag|build|pr|pull request|ticket)\b\s*[#:]?\s*[`'"]?([\w][\w.-]*)/gi,
];

const STOPWORDS = new Set(
  (
    'a an the this that these those it its their his her our your my some any no every each all both other another ' +
    'same whole entire one two of in on at to for from with without into onto over under after before since until ' +
    'and or but nor so yet if then than as is was were be been being are has have had do does did not also only ' +
    'just still already very more most less least which who whom whose what when where why how there here'
  ).split(' '),
);
// Words that name things generically; they may precede "service" etc. without naming one.
const GENERIC = new Set(
  (
    'affected alerting failing impacted degraded related main primary backend frontend web slow same upstream ' +
    'downstream external internal underlying following above below given relevant new recent latest someone ' +
    'somebody anyone team rule rules alert alerts incident incidents deploy deploys change changes service'
  ).split(' '),
);
// Everyday words that appear in hyphenated prose ("on-call", "follow-up", "high-severity").
const COMPOUND_PARTS = new Set(
  (
    'on call follow up roll back out re run check well known high low medium critical severity priority error ' +
    'rate time real long short term step by non pre post self in top level end user facing side half full read ' +
    'write only open first second last next most least per day hour minute date set start root sub multi cross ' +
    'e g i ie eg vs and or up-to-date to of the at a as is it its'
  ).split(' '),
);
// Words any rewording of a report may use without stating anything new (compared by stem).
const REPORT_WORDS = new Set(
  (
    'step steps next roll back rollback recent change changes found rules firing resolved open went shipped ' +
    'landed started began fired details summary overview action actions command suggested latest earlier ' +
    'before after minutes seconds hours slowest latency errors alerts incident service team owner evidence ' +
    'commit trace traces logs deploy deployed deployment status since currently still about around far ' +
    'report reported shows showed points most severe first listed below above here'
  )
    .split(' ')
    .map((w) => w.slice(0, 5)),
);
// Capitalised words a rewording may use mid-sentence without naming anyone or anything new.
const CAPITALISED_OK = new Set(
  (
    'i utc id ids ok tl dr tldr fyi next status service team alert alerts findings finding summary incident ' +
    'evidence rule confidence deploy trace log logs what changed note severity steps step changes change ' +
    'recent key overview details actions action suggested recommended report rules found'
  ).split(' '),
);

const lower = (s: string) => s.toLowerCase();
const words = (s: string) => lower(s).match(/[a-z][a-z'-]*/g) ?? [];
const clip = (s: string) => (s.length > 60 ? `"${s.slice(0, 57)}..."` : `"${s}"`);
const reject = (reason: string): GateVerdict => ({ ok: false, reason });

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const hasWord = (text: string, word: string) =>
  word.length > 1 && new RegExp(`(?<![\\w])${escapeRegExp(word)}(?![\\w])`).test(text);

function containsNumber(text: string, n: string): boolean {
  return new RegExp(`(?<![\\d.])${n.replace('.', '\\.')}(?![\\d]|\\.\\d)`).test(text);
}

function unitOf(raw: string): string {
  const u = lower(raw);
  return UNITS.find(([pattern]) => pattern.test(u))?.[1] ?? u;
}

function quantities(text: string): Set<string> {
  return new Set([...text.matchAll(QUANTITY)].map((m) => `${Number(m[1])} ${unitOf(m[2] ?? '')}`));
}

/** Sentences (and list items, headings) of a text, each on its own. */
function sentences(text: string): string[] {
  return text
    .split(/\n+/)
    .flatMap((line) => line.split(/(?<=[.!?])\s+(?=[A-Z`"'*[(])/))
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Severity labels in order of appearance, consecutive repeats merged. */
function severityLabels(text: string): string[] {
  const found = new Map<number, string>();
  for (const m of text.matchAll(SEVERITY_CAPS)) found.set(m.index, lower(m[1] ?? ''));
  for (const m of text.matchAll(SEVERITY_LABEL)) {
    const label = m.slice(1).find(Boolean) ?? '';
    found.set(m.index + m[0].toLowerCase().lastIndexOf(lower(label)), lower(label));
  }
  const labels = [...found.entries()].sort(([a], [b]) => a - b).map(([, label]) => label);
  return labels.filter((l, i) => l !== labels[i - 1]);
}

/** Lower case, markdown gone, whitespace collapsed: for "is this in the template". */
const flatten = (s: string) =>
  lower(s)
    .replace(/[*_`>#•]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
/** Bold and code marks gone, so that "**Team:** `checkout`" reads as "Team: checkout". */
const unmarked = (s: string) => s.replace(/[*`]/g, '');
/** A sentence reduced to what identifies it: no list marker, no closing punctuation. */
const sentenceKey = (s: string) =>
  flatten(s)
    .replace(/^[\s\-\d.)]+/, '')
    .replace(/[\s.;:!]+$/, '');

/** What the template says, in the forms the checks compare with. */
interface Source {
  /** The template, flattened. */
  flat: string;
  /** Its sentences, as `sentenceKey` gives them. */
  sentences: Set<string>;
  /** The stems of its words. */
  stems: Set<string>;
  /** Commands and identifiers it quotes, which a rewording must keep. */
  literals: string[];
  /** The findings' suggested commands it quotes. */
  suggestions: string[];
}

// Words are compared by their first five letters, so that "deployed" matches "deploy".
const stem = (w: string) => w.slice(0, 5);

function sourceOf(incident: Incident, templated: string): Source {
  const quoted = (s: string) => s.trim() !== '' && templated.includes(s);
  const candidates = [
    incident.id,
    incident.previousIncidentId ?? '',
    ...incident.alerts.map((a) => a.fingerprint),
    ...incident.findings.flatMap((f) => [f.suggestion, ...f.evidence.map((e) => e.ref)]),
  ];
  return {
    flat: flatten(templated),
    sentences: new Set(sentences(templated).map(sentenceKey)),
    stems: new Set(words(templated).map(stem)),
    literals: [...new Set(candidates)].filter(quoted),
    suggestions: incident.findings.map((f) => f.suggestion).filter(quoted),
  };
}

/**
 * What a sentence of the rewording claims beyond repeating the template: suggested commands, quoted
 * template text and whole template sentences are removed (repeating is never a new claim, even when
 * the repeated text is an alert annotation full of instructions; a fragment of one can be).
 */
function claimText(sentence: string, source: Source): string {
  if (source.sentences.has(sentenceKey(sentence))) return '';
  let text = sentence;
  for (const literal of source.literals) text = text.split(literal).join(' ');
  text = text.replace(/(["'`“‘])([^"'`”’]{3,}?)(["'`”’])/g, (all, _open, inner: string) =>
    source.flat.includes(flatten(inner)) ? ' ' : all,
  );
  const key = sentenceKey(text);
  return key && !source.sentences.has(key) ? text : '';
}

/** The words of a claim that carry meaning. */
const contentWords = (text: string) => words(text).filter((w) => w.length > 3 && !STOPWORDS.has(w));

type Check = (incident: Incident, templated: string, rewording: string, source: Source) => GateVerdict;

/** The findings the template lists (those whose suggested command it quotes), in its order. */
const listedFindings = (incident: Incident, templated: string) =>
  [...incident.findings].sort(compareFindings).filter((f) => templated.includes(f.suggestion));

/** Every finding, in the template's order, and the severity labels exactly as the template's. */
const checkFindings: Check = (incident, templated, rewording) => {
  // The template lists findings most severe first; each must follow the previous one in the rewording.
  const findings = listedFindings(incident, templated);
  let from = 0;
  for (const [i, f] of findings.entries()) {
    const at = rewording.indexOf(f.suggestion, from);
    if (at >= 0) {
      from = at + f.suggestion.length;
      continue;
    }
    return rewording.includes(f.suggestion)
      ? reject(`answer changed the order of the findings at finding ${i + 1} (${f.ruleId})`)
      : reject(`answer dropped finding ${i + 1} (${f.ruleId})`);
  }
  const expected = severityLabels(templated);
  const actual = severityLabels(rewording);
  if (expected.join(',') !== actual.join(',')) {
    const at = expected.findIndex((label, i) => actual[i] !== label);
    return reject(
      `answer changed a severity label: ${actual[at] ?? 'none'} where the report says ${expected[at] ?? 'none'}`,
    );
  }
  return { ok: true };
};

/**
 * Every confidence level as the template gives it. A level must be one a finding has; tied to one finding
 * where the rewording says which: a sentence naming a rule id speaks of that rule's findings, and one that
 * starts on a line after finding i's suggested command and no later than finding i+1's speaks of finding
 * i+1 (the template puts the confidence before the command). The first finding gets no such tie: the text
 * before its command also holds the headline, "What changed" and any summary of all the findings.
 */
const checkConfidence: Check = (incident, templated, rewording, source) => {
  const findings = listedFindings(incident, templated);
  // Suggested commands mark where each finding ends; only when each one is unmistakable. Each is its last
  // quote before the next one's, so that an opening line quoting a command ("First step: …") moves no block.
  const anchored = findings.every((f) => f.suggestion.trim() && templated.split(f.suggestion).length === 2);
  const anchors: { start: number; lineEnd: number }[] = [];
  let before = rewording.length;
  for (const f of anchored ? [...findings].reverse() : []) {
    const start = rewording.lastIndexOf(f.suggestion, before - f.suggestion.length);
    before = start;
    const end = rewording.indexOf('\n', start + f.suggestion.length);
    anchors.unshift({ start, lineEnd: end < 0 ? rewording.length : end });
  }
  const levels = (fs: readonly { confidence: string }[]) => new Set(fs.map((f) => f.confidence));
  const ruleNamed = (sentence: string, ruleId: string) =>
    new RegExp(`(?<![\\w.-])${escapeRegExp(ruleId)}(?![\\w-]|\\.\\w)`, 'i').test(sentence);
  let next = 0;
  for (const sentence of sentences(rewording)) {
    const at = rewording.indexOf(sentence, next);
    next = at + sentence.length;
    const claim = unmarked(claimText(sentence, source));
    const named = incident.findings.filter((f) => f.ruleId.trim() && ruleNamed(sentence, f.ruleId));
    const i = anchors.findIndex((a) => at <= a.start);
    const own = i > 0 && at > (anchors[i - 1]?.lineEnd ?? Infinity) ? findings[i] : undefined;
    const allowed = levels(named.length > 0 ? named : own ? [own] : incident.findings);
    for (const m of claim.matchAll(CONFIDENCE)) {
      const level = CONFIDENCE_LEVELS[lower(m.slice(1).find(Boolean) ?? '')] ?? '';
      if (!allowed.has(level)) {
        const expected = [...allowed].join(' or ') || 'none';
        return reject(`answer changed a confidence: ${level} where the report says ${expected}`);
      }
    }
  }
  return { ok: true };
};

/** The spans of time in a text, each with the moment it is measured from and on which side of it. */
function timeRelations(text: string): { key: string; direction: string; text: string }[] {
  return [...unmarked(text).matchAll(TIME_RELATION)].map((m) => {
    const [all, digits, numberWord, unit, articleUnit, relation, moment] = m;
    // "An hour" is one; a number word is one of NUMBER_WORDS, as the alternation only matches those.
    const count = digits !== undefined ? Number(digits) : numberWord ? (NUMBER_WORDS[lower(numberWord)] ?? 0) : 1;
    const ms = Math.round(count * (UNIT_MS[unitOf(unit ?? articleUnit ?? '')] ?? Number.NaN));
    const word = lower(moment ?? '');
    const from = TIME_REFERENCES.find(([pattern]) => pattern.test(word))?.[1] ?? word;
    const direction = EARLIER_THAN.test(lower(relation ?? '').replace(/\s+/g, ' ')) ? 'before' : 'after';
    return { key: `${ms} ${from}`, direction, text: all ?? '' };
  });
}

/**
 * Before and after kept: a span of time the template puts before a moment (or after it) is not put on the
 * other side of the same moment. A span the template never measures from that moment is left to the number
 * checks: "the alert started 4 min after the deploy" restates "deployed 4 min before the alert".
 */
const checkTimeRelations: Check = (_incident, templated, rewording, source) => {
  const stated = new Map<string, Set<string>>();
  for (const { key, direction } of timeRelations(templated))
    stated.set(key, (stated.get(key) ?? new Set()).add(direction));
  for (const sentence of sentences(rewording)) {
    for (const { key, direction, text } of timeRelations(claimText(sentence, source))) {
      const directions = stated.get(key);
      if (directions && !directions.has(direction)) {
        return reject(
          `answer reverses a time relation: ${clip(text)} where the report says ${[...directions].join(' and ')}`,
        );
      }
    }
  }
  return { ok: true };
};

/** Identifiers, commands and numbers kept; no number, quantity, time, date, link or handle invented. */
const checkLiterals: Check = (_incident, templated, rewording, { literals }) => {
  for (const literal of literals) {
    if (!rewording.includes(literal)) return reject(`answer dropped ${clip(literal)}`);
  }
  const source = lower(templated);
  const answer = lower(rewording);
  for (const id of new Set(source.match(HEX_ID))) {
    if (!answer.includes(id)) return reject(`answer dropped identifier ${id}`);
  }
  for (const id of new Set(answer.match(HEX_ID))) {
    if (!source.includes(id)) return reject(`answer introduced identifier ${id}`);
  }
  for (const n of new Set(templated.match(NUMBER))) {
    if (!containsNumber(rewording, n)) return reject(`answer dropped the number ${n}`);
  }
  for (const n of new Set(rewording.match(NUMBER))) {
    if (!containsNumber(templated, n)) return reject(`answer introduced the number ${n}`);
  }
  const templateNumbers = new Set((templated.match(NUMBER) ?? []).map(Number));
  for (const w of new Set(words(rewording))) {
    const value = NUMBER_WORDS[w];
    if (value !== undefined && !templateNumbers.has(value)) return reject(`answer introduced the number "${w}"`);
  }
  const fractions = new Set([...templated.matchAll(FRACTION)].map((m) => `${m[1]}/${m[2]}`));
  for (const m of rewording.matchAll(FRACTION)) {
    if (!fractions.has(`${m[1]}/${m[2]}`)) return reject(`answer introduced ${clip(m[0])}`);
  }
  const known = quantities(templated);
  for (const q of quantities(rewording)) {
    if (!known.has(q)) return reject(`answer introduced the quantity "${q}"`);
  }
  for (const pattern of [CLOCK, DATE, URL, HANDLE, RELATIVE_TIME]) {
    for (const token of rewording.match(pattern) ?? []) {
      if (!source.includes(lower(token))) return reject(`answer introduced ${clip(token)}`);
    }
  }
  return { ok: true };
};

/**
 * A threshold is the template's: a number the rewording states as a threshold must be one the template
 * states as one (or as a bound), so the value and its threshold cannot trade places ("p99 1000ms over the
 * 2400ms threshold"); both numbers being the template's, the number checks let that through.
 */
const checkThresholds: Check = (_incident, templated, rewording, source) => {
  const stated = new Set<number>();
  for (const pattern of [THRESHOLD, BOUND]) {
    for (const m of unmarked(templated).matchAll(pattern)) stated.add(Number(m[1] ?? m[2]));
  }
  for (const sentence of sentences(rewording)) {
    for (const m of unmarked(claimText(sentence, source)).matchAll(THRESHOLD)) {
      const value = Number(m[1] ?? m[2]);
      if (!stated.has(value)) {
        return reject(
          `answer changed a threshold: ${value} where the report says ${[...stated].join(' or ') || 'none'}`,
        );
      }
    }
  }
  return { ok: true };
};

/** Names: services, hosts, people. A name the template does not contain is an invented one. */
const checkNames: Check = (incident, templated, rewording) => {
  const source = lower(templated);
  const vocabulary = new Set(words(templated));
  const known = (w: string) => vocabulary.has(lower(w)) || source.includes(lower(w));
  for (const raw of rewording.match(COMPOUND) ?? []) {
    const token = raw.replace(/[.:]+$/, '');
    if (known(token) || /^[\d.:\-TZ]+$/.test(token)) continue;
    // Prose compounds ("on-call", "high-severity") are made of words; names have a part no text has.
    const parts = lower(token).split(/[-/.]/);
    const prose =
      /^[\w./-]+$/.test(token) && parts.every((p) => vocabulary.has(p) || COMPOUND_PARTS.has(p) || hasWord(source, p));
    if (!prose) return reject(`answer introduced the name ${clip(token)}`);
  }
  const plain = unmarked(rewording);
  const plainTemplate = unmarked(templated);
  // A service must be one the template names as a service (a known team name is not one).
  const services = new Set([lower(incident.service)]);
  for (const pattern of SERVICE_CONTEXTS) {
    for (const m of plainTemplate.matchAll(pattern)) services.add(lower(m[1] ?? ''));
  }
  for (const pattern of SERVICE_CONTEXTS) {
    for (const m of plain.matchAll(pattern)) {
      const name = lower(m[1] ?? '');
      const ordinary = STOPWORDS.has(name) || GENERIC.has(name) || name.endsWith('ly');
      if (name && !ordinary && !services.has(name)) return reject(`answer introduced the service ${clip(name)}`);
    }
  }
  // Nor may a service be named as the owning team, unless the template itself names it there.
  const teams = new Set([lower(incident.team)]);
  for (const m of plainTemplate.matchAll(TEAM_CONTEXT)) teams.add(lower(m[1] ?? ''));
  for (const m of plain.matchAll(TEAM_CONTEXT)) {
    const name = lower(m[1] ?? '');
    if (services.has(name) && !teams.has(name) && !STOPWORDS.has(name) && !GENERIC.has(name)) {
      return reject(`answer names the service ${clip(name)} as the owning team`);
    }
  }
  for (const pattern of NAME_CONTEXTS) {
    for (const m of plain.matchAll(pattern)) {
      const name = lower((m[1] ?? '').replace(/[.-]+$/, ''));
      const ordinary = STOPWORDS.has(name) || GENERIC.has(name) || name.endsWith('ly');
      if (name && !ordinary && !known(name)) return reject(`answer introduced the name ${clip(name)}`);
    }
  }
  for (const sentence of sentences(rewording)) {
    // Capitals are names (people, products, places) except where any word may start with one.
    for (const m of sentence.matchAll(/(?<![\w.:/-])([A-Z][a-z]+|[A-Z]{2,})(?![\w-])/g)) {
      const w = m[1] ?? '';
      const opensPhrase = /^[^A-Za-z]*$|[:;—–|(*"]\s*$|\s-\s*$|[[(][^\])]*[\])]\s*$/.test(sentence.slice(0, m.index));
      if (opensPhrase || known(w) || STOPWORDS.has(lower(w)) || CAPITALISED_OK.has(lower(w))) continue;
      return reject(`answer introduced the name ${clip(w)}`);
    }
  }
  return { ok: true };
};

/** Statements, causes, negations, softened urgency and advice: allowed only where the template makes them. */
const checkClaims: Check = (incident, templated, rewording, source) => {
  // What states a causal link: a finding's summary (its quoted data excluded: a log line is not a
  // finding) or its suggestion ("roll it back if it is the cause").
  const causalStatements = incident.findings
    .filter((f) => templated.includes(f.suggestion))
    .flatMap((f) => [f.summary.replace(/"[^"]*"/g, ' '), f.suggestion])
    .filter((s) => CAUSAL.test(s.replace(/-/g, ' ')))
    .map((s) => new Set(words(s).map(stem)));
  // The template's statements that negate: a rewording may say one in its own words ("has no team label"
  // as "does not have a team label") in a sentence that says nothing else, and without dismissing anything.
  const normal = (s: string) => s.replace(/’/g, "'").replace(/-/g, ' ');
  const negating = sentences(templated)
    .filter((s) => [...normal(s).matchAll(NEGATION)].length > 0)
    .map((s) => new Set(contentWords(normal(s)).map(stem)));
  const restatesNegation = (plain: string, negation: string) => {
    if (DISMISSAL.test(negation)) return false;
    const terms = contentWords(plain.replace(NEGATION, ' ')).map(stem);
    return terms.length > 0 && negating.some((own) => terms.every((t) => own.has(t)));
  };
  const all = sentences(rewording);
  for (const [i, sentence] of all.entries()) {
    const claim = claimText(sentence, source);
    if (!claim.trim()) continue;
    const spaced = claim.replace(/-/g, ' ');
    const content = contentWords(spaced);
    if (CAUSAL.test(spaced)) {
      // Every word of a causal sentence (cause and effect) must come from one finding stating the link.
      const terms = content.filter((w) => !CAUSAL.test(w)).map(stem);
      const supported = causalStatements.some((own) => terms.length > 0 && terms.every((t) => own.has(t)));
      if (!supported) return reject(`answer states a cause no finding states: ${clip(sentence.trim())}`);
    }
    const softened = SOFTENER.exec(spaced) ?? (incident.status === 'open' ? RESOLVED_STATUS.exec(spaced) : null);
    if (softened && !source.flat.includes(lower(softened[0]))) {
      return reject(`answer softens the incident: ${clip(softened[0])}`);
    }
    const plain = normal(claim);
    for (const [negation] of plain.matchAll(NEGATION)) {
      if (!hasWord(source.flat, lower(negation)) && !restatesNegation(plain, negation))
        return reject(`answer negates what the report says: ${clip(sentence.trim())}`);
    }
    const text = claim.trim().replace(/^[\s>*#\-•\d.)[\]]+/, '');
    const introducesNext = /:\s*$/.test(text);
    const heading = introducesNext || (text.split(/\s+/).length <= 4 && !IMPERATIVE.test(text));
    const advice = IMPERATIVE.test(text) || (!heading && ADVICE_MARKER.test(text));
    // Advice must carry a suggested command, on its line or (after a colon) on the next.
    const carried = [sentence, introducesNext ? (all[i + 1] ?? '') : ''];
    if (advice && !source.suggestions.some((s) => carried.some((c) => c.includes(s)))) {
      return reject(`answer gives advice that is not a suggestion of the report: ${clip(sentence.trim())}`);
    }
  }
  return { ok: true };
};

/**
 * Commands: the only ones a rewording may carry are the template's (its suggestions, removed with the
 * other literals by `claimText`). What is left that reads as a command — a program and its argument, an
 * option, a shell operator, a code span — must be text the template itself contains (a quoted log line).
 */
const checkCommands: Check = (_incident, _templated, rewording, source) => {
  const known = (s: string) => {
    const flat = flatten(s.replace(/[\s.,;:!?)]+$/, ''));
    return flat === '' || source.flat.includes(flat);
  };
  for (const sentence of sentences(rewording)) {
    const claim = claimText(sentence, source);
    for (const m of claim.matchAll(CODE_SPAN)) {
      if (!known(m[1] ?? '')) return reject(`answer introduced the command ${clip((m[1] ?? '').trim())}`);
    }
    const plain = claim.replace(CODE_SPAN, (_all, inner: string) => ` ${inner} `);
    for (const m of plain.matchAll(COMMAND_WORD)) {
      // From the program to the end of the line: the whole command must be quoted from the template.
      const command = plain.slice(m.index).split('\n')[0] ?? '';
      if (!known(command)) return reject(`answer introduced the command ${clip(command.trim())}`);
    }
    for (const m of plain.matchAll(COMMAND_SYNTAX)) {
      // The operator or option with what follows it on the line.
      const rest = plain.slice(m.index).split('\n')[0] ?? '';
      if (!known(rest)) return reject(`answer introduced the command ${clip(rest.trim())}`);
    }
  }
  return { ok: true };
};

/** A sentence made mostly of words the report never uses says something the report does not. */
const checkStatements: Check = (_incident, _templated, rewording, source) => {
  for (const sentence of sentences(rewording)) {
    const content = contentWords(claimText(sentence, source).replace(/-/g, ' '));
    const unknown = content.filter((w) => !source.stems.has(stem(w)) && !REPORT_WORDS.has(stem(w)));
    if (content.length >= 3 && unknown.length * 2 > content.length) {
      return reject(`answer adds a statement the report does not make: ${clip(sentence.trim())}`);
    }
  }
  return { ok: true };
};

/**
 * Accepts a rewording only if it keeps every finding (in order, severity and confidence unchanged),
 * every identifier, number and command of the template, and states no number, duration, time, name,
 * threshold, command, cause, reassurance or advice that the template does not, nor a span of time on
 * the other side of its moment.
 */
export function checkRewording(incident: Incident, templated: string, rewording: string): GateVerdict {
  if (!rewording.trim()) return reject('empty answer');
  if (rewording.length > Math.max(2000, templated.length * 3)) return reject('answer too long');
  const source = sourceOf(incident, templated);
  for (const check of [
    checkFindings,
    checkConfidence,
    checkLiterals,
    checkTimeRelations,
    checkThresholds,
    checkCommands,
    checkNames,
    checkClaims,
    checkStatements,
  ]) {
    const verdict = check(incident, templated, rewording, source);
    if (!verdict.ok) return verdict;
  }
  return { ok: true };
}
