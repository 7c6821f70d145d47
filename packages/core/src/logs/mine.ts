/**
 * Groups distinct typed token sequences of one length into templates by token frequency, after Brain
 * (Yu et al., 2023). The words of one template occur as often as the template does, so a sequence's
 * largest set of equally frequent words is its template's core; sequences sharing a core form a group.
 * Within a group, a column of differing words is split on when it looks like event words, or becomes
 * `<*>` when it looks like values (user names, hosts, states).
 */
import { isMessageKey, isVariable, WILDCARD } from './tokens.js';

/** A distinct typed token sequence and how many lines had it. */
export interface Sequence {
  tokens: string[];
  weight: number;
}

/** At most this many distinct words in a column are event words (`opened`/`closed`); more are values. */
const MAX_EVENT_WORDS = 3;
// `key=` or `key:` before a value, also a JSON field's `"key":` (`{"key":`, `,"key":`); the name captured.
const KEY_PREFIX = /^[{,]?"?([A-Za-z_][\w.-]*)"?[=:](?=[^=:])/;
// A key alone, its value in the next token (`"msg":`, `error:`); the name captured.
const BARE_KEY = /^[{,]?"?([A-Za-z_][\w.-]*)"?[=:]$/;
const TRAILING_DIGITS = /\d+$/;
// An upper-case constant of at least four letters, maybe in punctuation: `ECONNREFUSED`, `(NOT_FOUND)`.
const ERROR_CODE = /^[^A-Za-z]*[A-Z][A-Z_]{2,}[A-Z][^A-Za-z]*$/;
// A class named as an exception or error, maybe with its package: `java.net.ConnectException:`.
const EXCEPTION_CLASS = /[A-Za-z](?:Exception|Error)[^A-Za-z]*$/;

/**
 * Whether a group should be split on a column of differing words. The first word of a message names the
 * event (Drain routes on it), and so does the first word of a structured line's message (`msg="db
 * timeout"`, `"msg": "db timeout"`: `first`); elsewhere only a handful of distinct words do, and not when
 * most of them occur once. Values of one `key=` are data, and so are names that differ only in a number
 * (`cpu0`, `cpu1`).
 */
function isEventColumn(words: Map<string, number>, first: boolean): boolean {
  const keys = new Set<string | undefined>();
  const stems = new Set<string>();
  for (const word of words.keys()) {
    keys.add(KEY_PREFIX.exec(word)?.[1]);
    stems.add(word.replace(TRAILING_DIGITS, ''));
  }
  const key = keys.size === 1 ? keys.values().next().value : undefined;
  const message = key !== undefined && isMessageKey(key);
  if ((key !== undefined && !message) || stems.size < words.size) return false;
  if (first || message) return true;
  // Error codes (`ECONNREFUSED`, `NOT_FOUND`) and exception classes (`java.io.IOException:`, `ValueError`)
  // name the event however many of them there are and however rare each is.
  let codes = true;
  for (const word of words.keys()) if (!ERROR_CODE.test(word) && !EXCEPTION_CLASS.test(word)) codes = false;
  if (codes) return true;
  // Mostly one-off words are values seen once each (a process or host name in a rare event).
  let once = 0;
  for (const w of words.values()) if (w === 1) once++;
  if (once * 2 > words.size) return false;
  return words.size <= MAX_EVENT_WORDS;
}

interface Column {
  /** Weight of each word seen in the column. */
  words: Map<string, number>;
  /** Whether any sequence has a variable there. */
  variable: boolean;
}

/** Whether a column holds one message key alone (`"msg":`), the message starting in the next. */
function isMessageKeyColumn(col: Column | undefined): boolean {
  if (!col || col.variable || col.words.size !== 1) return false;
  const word = col.words.keys().next().value as string;
  const last = word.charCodeAt(word.length - 1);
  if (last !== 58 && last !== 61) return false; // `:`, `=`
  const key = BARE_KEY.exec(word)?.[1];
  return key !== undefined && isMessageKey(key);
}

function columnsOf(seqs: readonly Sequence[], members: readonly number[], length: number): Column[] {
  const cols: Column[] = Array.from({ length }, () => ({ words: new Map(), variable: false }));
  for (const m of members) {
    const s = seqs[m] as Sequence;
    for (let p = 0; p < length; p++) {
      const token = s.tokens[p] as string;
      const col = cols[p] as Column;
      if (isVariable(token)) col.variable = true;
      else col.words.set(token, (col.words.get(token) ?? 0) + s.weight);
    }
  }
  return cols;
}

/** The core of a sequence: the positions of its largest set of equally frequent words (ties: more frequent). */
function coreOf(tokens: readonly string[], cols: readonly Column[]): number[] {
  const freq = tokens.map((t, p) => (isVariable(t) ? -1 : (cols[p]?.words.get(t) ?? 0)));
  const positionsWith = new Map<number, number>();
  for (const f of freq) if (f >= 0) positionsWith.set(f, (positionsWith.get(f) ?? 0) + 1);
  let best = -1;
  let bestCount = 0;
  for (const [f, count] of positionsWith) {
    if (count > bestCount || (count === bestCount && f > best)) {
      best = f;
      bestCount = count;
    }
  }
  const core: number[] = [];
  freq.forEach((f, p) => {
    if (f === best) core.push(p);
  });
  return core;
}

interface Group {
  members: number[];
  /** Already split by similarity. */
  compared: boolean;
}

/** Share of positions that must agree for a sequence to join a part, as in Drain. */
const SIMILARITY = 0.5;

/**
 * Splits a group whose words vary more than they stay the same the way Drain would: each sequence, in
 * order, joins the most similar part when at least half of its positions agree (a variable of the
 * sequence agrees with anything), else starts a new one.
 */
function bySimilarity(seqs: readonly Sequence[], members: readonly number[], cols: readonly Column[]): number[][] {
  const parts: { template: string[]; members: number[] }[] = [];
  // Parts by the words they hold where tokens differ: a sequence is compared only with the parts that
  // share one of those words; elsewhere all parts agree with it alike, so without one, part 0 is as good.
  const holding = new Map<string, number[]>();
  const wordKey = (p: number, token: string) => `${p}\u0001${token}`;
  const differing = cols.flatMap((col, p) => (col.words.size > 1 || (col.variable && col.words.size > 0) ? [p] : []));
  for (const m of members) {
    const tokens = (seqs[m] as Sequence).tokens;
    const candidates = new Set<number>();
    for (const p of differing) for (const k of holding.get(wordKey(p, tokens[p] as string)) ?? []) candidates.add(k);
    if (parts.length > 0 && candidates.size === 0) candidates.add(0);
    let best = -1;
    let bestScore = Math.ceil(SIMILARITY * tokens.length) - 1;
    for (const k of [...candidates].sort((x, y) => x - y)) {
      // Typed variables agree; words merged into `<*>` do not, or one part would swallow the rest.
      const score = (parts[k] as (typeof parts)[number]).template.reduce(
        (n, t, p) => (t === tokens[p] || isVariable(tokens[p] ?? '') ? n + 1 : n),
        0,
      );
      if (score > bestScore) {
        best = k;
        bestScore = score;
      }
    }
    const part = parts[best];
    if (part) {
      part.members.push(m);
      part.template = part.template.map((t, p) => (t === tokens[p] ? t : WILDCARD));
    } else {
      best = parts.push({ template: [...tokens], members: [m] }) - 1;
      for (const p of differing) {
        const key = wordKey(p, tokens[p] as string);
        const list = holding.get(key);
        if (list) list.push(best);
        else holding.set(key, [best]);
      }
    }
  }
  return parts.map((p) => p.members);
}

/**
 * Partitions sequences of one length (`members`, indexes into `seqs`) into groups; returns each
 * member's template tokens.
 */
export function mineSameLength(
  seqs: readonly Sequence[],
  members: readonly number[],
  length: number,
): Map<number, string[]> {
  const cols = columnsOf(seqs, members, length);
  const roots = new Map<string, number[]>();
  for (const m of members) {
    const tokens = (seqs[m] as Sequence).tokens;
    const key = coreOf(tokens, cols)
      .map((p) => `${p}\u0001${tokens[p]}`)
      .join('\u0000');
    const root = roots.get(key);
    if (root) root.push(m);
    else roots.set(key, [m]);
  }

  const templateOf = new Map<number, string[]>();
  const stack: Group[] = [...roots.values()].reverse().map((group) => ({ members: group, compared: false }));
  for (let group = stack.pop(); group; group = stack.pop()) {
    const first = (seqs[group.members[0] as number] as Sequence).tokens;
    // A sequence alone in its group is its own template.
    if (group.members.length === 1) {
      templateOf.set(group.members[0] as number, first);
      continue;
    }
    const groupCols = columnsOf(seqs, group.members, length);
    // Split on the event-word column with the fewest words, the leftmost on a tie.
    let split = -1;
    groupCols.forEach((col, p) => {
      if (col.variable || col.words.size <= 1) return;
      if (!isEventColumn(col.words, p === 0 || isMessageKeyColumn(groupCols[p - 1]))) return;
      if (split < 0 || col.words.size < (groupCols[split] as Column).words.size) split = p;
    });
    if (split >= 0) {
      const parts = new Map<string, number[]>();
      for (const m of group.members) {
        const token = (seqs[m] as Sequence).tokens[split] as string;
        const part = parts.get(token);
        if (part) part.push(m);
        else parts.set(token, [m]);
      }
      for (const part of [...parts.values()].reverse()) stack.push({ members: part, compared: group.compared });
      continue;
    }
    const varying = groupCols.filter((col) => !col.variable && col.words.size > 1).length;
    const constant = groupCols.filter((col) => !col.variable && col.words.size === 1).length;
    if (!group.compared && varying > constant) {
      const parts = bySimilarity(seqs, group.members, groupCols);
      if (parts.length > 1) {
        for (const part of parts.reverse()) stack.push({ members: part, compared: true });
        continue;
      }
    }
    const template = first.map((token, p) => {
      if (group.members.every((m) => (seqs[m] as Sequence).tokens[p] === token)) return token;
      // Values of one key keep it: `user=<*>`.
      const key = KEY_PREFIX.exec(token)?.[0];
      return key && group.members.every((m) => (seqs[m] as Sequence).tokens[p]?.startsWith(key))
        ? `${key}${WILDCARD}`
        : WILDCARD;
    });
    for (const m of group.members) templateOf.set(m, template);
  }
  return templateOf;
}
