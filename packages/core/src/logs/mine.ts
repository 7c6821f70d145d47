/**
 * Groups distinct typed token sequences into templates by token frequency, after Brain (Yu et al., 2023):
 * within sequences of the same length, the words of one template all occur as often as the template does,
 * so each sequence's largest set of equally frequent words is its template's core; sequences sharing a
 * core form a group, and the other columns of a group are split on when their words repeat like event
 * words, or become `<*>` when they vary like values.
 */
import { isVariable, WILDCARD } from './tokens.js';

/** A distinct typed token sequence and how many lines had it. */
export interface Sequence {
  tokens: string[];
  weight: number;
}

const KEY_PREFIX = /^[^=:]*[=:]/;

/**
 * A column is split on when its words look like event words: the first word of a message (as Drain
 * routes on it), or few distinct words, each repeated. Values of one `key=` are data, never split on.
 */
function isEventColumn(values: Map<string, number>, position: number): boolean {
  const d = values.size;
  if (d <= 1) return false;
  let key: string | undefined;
  let sameKey = true;
  for (const word of values.keys()) {
    const k = KEY_PREFIX.exec(word)?.[0];
    if (k === undefined || (key !== undefined && k !== key)) sameKey = false;
    key = k;
  }
  if (sameKey) return false;
  if (position === 0 && FIRST) return true;
  if (d <= MAX_EVENT_WORDS_ANY) return true;
  if (d > MAX_EVENT_WORDS) return false;
  for (const w of values.values()) if (w < 2) return false;
  return true;
}

export const MAX_EVENT_WORDS_ANY = Number(process.env.T1 ?? 2);
export const MAX_EVENT_WORDS = Number(process.env.T2 ?? 8);
const PARENT = process.env.PARENT === '1';
const FIRST = process.env.FIRST !== '0';

type Column = { values: Map<string, number>; variable: number };

function columns(seqs: readonly Sequence[], members: readonly number[], length: number, skip: ReadonlySet<number>): Column[] {
  const cols: Column[] = Array.from({ length }, () => ({ values: new Map(), variable: 0 }));
  for (const m of members) {
    const s = seqs[m] as Sequence;
    for (let p = 0; p < length; p++) {
      if (skip.has(p)) continue;
      const token = s.tokens[p] as string;
      const col = cols[p] as Column;
      if (isVariable(token)) col.variable += s.weight;
      else col.values.set(token, (col.values.get(token) ?? 0) + s.weight);
    }
  }
  return cols;
}

/** The core of a sequence: the positions of its largest set of equally frequent words (ties: more frequent). */
function core(s: Sequence, freq: readonly Map<string, number>[]): number[] {
  const byFreq = new Map<number, number[]>();
  s.tokens.forEach((token, p) => {
    if (isVariable(token)) return;
    const f = freq[p]?.get(token) ?? 0;
    const at = byFreq.get(f);
    if (at) at.push(p);
    else byFreq.set(f, [p]);
  });
  let best: number[] = [];
  let bestFreq = -1;
  for (const [f, positions] of byFreq) {
    if (positions.length > best.length || (positions.length === best.length && f > bestFreq)) {
      best = positions;
      bestFreq = f;
    }
  }
  // Words more frequent than the core are constants shared with other templates.
  return s.tokens.flatMap((token, p) => (!isVariable(token) && (PARENT ? (freq[p]?.get(token) ?? 0) >= bestFreq : (freq[p]?.get(token) ?? 0) === bestFreq) ? [p] : []));
}

/**
 * Partitions sequences of one length into groups; returns the group of each sequence (by index into
 * `members`) and each group's template.
 */
export function mineSameLength(
  seqs: readonly Sequence[],
  members: readonly number[],
  length: number,
): { groupOf: Map<number, number>; templates: string[] } {
  const freq = columns(seqs, members, length, new Set()).map((c) => c.values);
  const roots = new Map<string, { fixed: Set<number>; members: number[] }>();
  for (const m of members) {
    const s = seqs[m] as Sequence;
    const positions = core(s, freq);
    const key = positions.map((p) => `${p}\u0001${s.tokens[p]}`).join('\u0000');
    const root = roots.get(key);
    if (root) root.members.push(m);
    else roots.set(key, { fixed: new Set(positions), members: [m] });
  }

  const groupOf = new Map<number, number>();
  const templates: string[] = [];
  const stack = [...roots.values()].reverse();
  while (stack.length > 0) {
    const { fixed, members: group } = stack.pop() as { fixed: Set<number>; members: number[] };
    const cols = columns(seqs, group, length, fixed);
    let split = -1;
    let splitSize = Number.POSITIVE_INFINITY;
    cols.forEach((col, p) => {
      if (fixed.has(p) || col.variable > 0) return;
      if (isEventColumn(col.values, p) && col.values.size < splitSize) {
        split = p;
        splitSize = col.values.size;
      }
    });
    if (split >= 0) {
      const parts = new Map<string, number[]>();
      for (const m of group) {
        const token = (seqs[m] as Sequence).tokens[split] as string;
        const part = parts.get(token);
        if (part) part.push(m);
        else parts.set(token, [m]);
      }
      const nextFixed = new Set([...fixed, split]);
      for (const part of [...parts.values()].reverse()) stack.push({ fixed: nextFixed, members: part });
      continue;
    }
    const first = (seqs[group[0] as number] as Sequence).tokens;
    const template = first.map((token, p) =>
      group.every((m) => (seqs[m] as Sequence).tokens[p] === token) ? token : WILDCARD,
    );
    for (const m of group) groupOf.set(m, templates.length);
    templates.push(template.join(' '));
  }
  return { groupOf, templates };
}
