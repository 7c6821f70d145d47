/**
 * Log template clustering. Each message is split into typed tokens (`tokens.ts`: anything holding a
 * digit, paths, URLs, dates become `<*>`); lines with the same typed sequence are counted once; the
 * distinct sequences of each length are grouped by token frequency (`mine.ts`). Pure and deterministic:
 * the same messages in the same order always give the same templates.
 *
 * Memory is bounded whatever the input: messages are mined in chunks of `CHUNK_LINES`, and at most
 * `maxTemplates` templates are kept (see {@link ClusterOptions.maxTemplates}).
 */
import { mineSameLength, type Sequence } from './mine.js';
import { isVariable, joinTokens, tokenize, WILDCARD } from './tokens.js';

export { maskMessage, WILDCARD } from './tokens.js';

const CHUNK_LINES = 16_384;
const DEFAULT_MAX_TEMPLATES = 5_000;

export interface ClusterOptions {
  /** Extra global regexes replaced by `<*>` before tokenising, e.g. a system's block-id format. */
  extraMasks?: readonly RegExp[];
  /**
   * Most templates kept (default 5,000, at least 2). When a chunk of input leaves more, the templates with
   * the fewest lines (ties: the most recently created) are folded into one catch-all template `<*>`.
   */
  maxTemplates?: number;
}

/** One template and the messages it covers. */
export interface LogTemplate {
  /** Tokens joined by single spaces, variables as `<*>`. */
  template: string;
  count: number;
  /** Indexes into the input, ascending. */
  indices: number[];
}

/** Templates that may merge across chunks share their length and first word. */
const routeOf = (tokens: readonly string[]) => `${tokens.length} ${isVariable(tokens[0] ?? '') ? WILDCARD : tokens[0]}`;

interface Entry {
  tokens: string[];
  /** `tokens` joined by spaces. */
  text: string;
  indices: number[];
}

/** Templates across chunks: the same template from a later chunk joins the earlier one. */
class TemplateTable {
  readonly entries: Entry[] = [];
  private readonly byText = new Map<string, Entry>();
  private readonly byRoute = new Map<string, Entry[]>();
  private overflow: Entry | undefined;

  constructor(private readonly cap: number) {}

  /**
   * The entry for a template: an equal one, else (from a later chunk) one of the same length that agrees
   * wherever neither has a variable — then the differing positions become `<*>`.
   */
  find(tokens: string[], template: string, laterChunk: boolean): Entry {
    const same = this.byText.get(template);
    if (same) return same;
    const route = routeOf(tokens);
    const peers = this.byRoute.get(route) ?? [];
    if (laterChunk) {
      const peer = peers.find((e) =>
        e.tokens.every((t, i) => t === tokens[i] || isVariable(t) || isVariable(tokens[i] ?? '')),
      );
      if (peer) {
        this.byText.delete(peer.text);
        peer.tokens = peer.tokens.map((t, i) => (t === tokens[i] ? t : WILDCARD));
        peer.text = joinTokens(peer.tokens);
        this.byText.set(peer.text, peer);
        this.byText.set(template, peer);
        return peer;
      }
    }
    const entry: Entry = { tokens, text: template, indices: [] };
    this.entries.push(entry);
    this.byText.set(template, entry);
    peers.push(entry);
    this.byRoute.set(route, peers);
    return entry;
  }

  /** Folds the smallest templates into the catch-all `<*>` until at most `cap` remain. */
  enforceCap(): void {
    if (this.entries.length <= this.cap) return;
    // A template that is one variable already reads `<*>`: it becomes the catch-all.
    this.overflow ??= this.byText.get(WILDCARD) ?? { tokens: [WILDCARD], text: WILDCARD, indices: [] };
    const overflow = this.overflow;
    const ranked = this.entries
      .filter((e) => e !== overflow)
      .map((entry, order) => ({ entry, order }))
      .sort((a, b) => b.entry.indices.length - a.entry.indices.length || a.order - b.order);
    for (const { entry } of ranked.slice(this.cap - 1)) for (const i of entry.indices) overflow.indices.push(i);
    this.entries.length = 0;
    this.entries.push(...ranked.slice(0, this.cap - 1).map((r) => r.entry), overflow);
    this.byText.clear();
    this.byText.set(WILDCARD, overflow);
    this.byRoute.clear();
    for (const entry of this.entries) {
      if (entry === overflow) continue;
      this.byText.set(entry.text, entry);
      const route = routeOf(entry.tokens);
      const peers = this.byRoute.get(route) ?? [];
      peers.push(entry);
      this.byRoute.set(route, peers);
    }
    overflow.indices.sort((a, b) => a - b);
  }
}

/** Distinct sequences of one chunk, mined; returns each sequence's template tokens. */
function mineChunk(seqs: readonly Sequence[]): string[][] {
  const byLength = new Map<number, number[]>();
  seqs.forEach((s, i) => {
    const members = byLength.get(s.tokens.length);
    if (members) members.push(i);
    else byLength.set(s.tokens.length, [i]);
  });
  const templateOf: string[][] = new Array(seqs.length);
  for (const [length, members] of byLength) {
    for (const [m, tokens] of mineSameLength(seqs, members, length)) templateOf[m] = tokens;
  }
  return templateOf;
}

/**
 * Groups messages into templates: most frequent first, ties by first occurrence. Every input index is
 * in exactly one template.
 */
export function clusterMessages(messages: readonly string[], options: ClusterOptions = {}): LogTemplate[] {
  const extraMasks = options.extraMasks ?? [];
  const table = new TemplateTable(Math.max(2, options.maxTemplates ?? DEFAULT_MAX_TEMPLATES));

  for (let start = 0; start < messages.length; start += CHUNK_LINES) {
    const end = Math.min(messages.length, start + CHUNK_LINES);
    const ids = new Map<string, number>();
    // A message seen before in the chunk is not tokenised again: log lines repeat.
    const idOfMessage = new Map<string, number>();
    const seqs: Sequence[] = [];
    const keys: string[] = [];
    const seqOf = new Int32Array(end - start);
    for (let i = start; i < end; i++) {
      const message = messages[i] ?? '';
      let id = idOfMessage.get(message);
      if (id === undefined) {
        const tokens = tokenize(message, extraMasks);
        const key = joinTokens(tokens);
        id = ids.get(key);
        if (id === undefined) {
          id = seqs.length;
          ids.set(key, id);
          seqs.push({ tokens, weight: 0 });
          keys.push(key);
        }
        idOfMessage.set(message, id);
      }
      (seqs[id] as Sequence).weight++;
      seqOf[i - start] = id;
    }
    const templateOf = mineChunk(seqs);
    // A sequence that is its own template already has its text.
    const entryOf = templateOf.map((tokens, id) =>
      table.find(tokens, tokens === seqs[id]?.tokens ? (keys[id] as string) : joinTokens(tokens), start > 0),
    );
    for (let i = start; i < end; i++) entryOf[seqOf[i - start] as number]?.indices.push(i);
    table.enforceCap();
  }

  return table.entries
    .filter((e) => e.indices.length > 0)
    .map((e) => ({ template: e.text, count: e.indices.length, indices: e.indices }))
    .sort((a, b) => b.count - a.count || (a.indices[0] ?? 0) - (b.indices[0] ?? 0));
}
