/**
 * Grouping accuracy of the log clusterer on the Loghub-2k benchmark, next to a reference Drain, and its
 * throughput and memory at scale.
 *
 *   npx tsx scripts/bench-log-clustering.ts [--data <dir>] [--sets HDFS,BGL]
 *   npx tsx scripts/bench-log-clustering.ts --lines 1000000 [--unique]
 *
 * Reads the data in place (default `../shared/benchmarks/loghub-2k`, relative to the repo root); the data
 * is licensed separately (Loghub, research and benchmarking use) and is never copied into this repo. For
 * each system it splits every raw line into header and message with the dataset's `log_format`, clusters
 * the messages with the default options (one generic configuration for every system) and compares the
 * partition with the ground truth (`<Name>_2k.log_structured.csv`, the corrected Loghub-2k templates):
 *
 * - GA, grouping accuracy (Zhu et al., ICSE-SEIP 2019): a line is correct when the set of lines sharing its
 *   predicted template equals the set sharing its ground-truth event;
 * - FGA (Jiang et al., ISSTA 2024): F1 of predicted groups that equal a ground-truth group exactly;
 * - pair-F1: F1 over pairs of lines put together, from the contingency counts.
 *
 * "Drain" is a reference Drain (He et al., ICWS 2017) written here after logpai's implementation with the
 * standard parameters (depth 4, similarity 0.5, 100 children) and generic pre-masks (IPs, hex, numbers).
 * The same table follows for the synthetic families of `synthetic-logs.ts` (unless `--sets` is given).
 *
 * `--lines N` measures scale instead: N lines made from the benchmark's messages with every digit run
 * replaced by fresh random digits (so nearly every line is distinct), interleaved across systems, clustered
 * in one call; it prints GA against the source events, lines per CPU-second (and wall), templates and peak
 * RSS. `--unique` makes every line a distinct sequence of random words, the worst case for the cap.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { clusterMessages, type LogTemplate } from '../packages/core/src/logs/cluster.js';
import { prng as random } from '../packages/local/src/storm-plan.js';
import { syntheticSets } from './synthetic-logs.js';

interface DatasetInfo {
  log_format: string;
  data_included: boolean;
}

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: resolve(import.meta.dirname, '../../shared/benchmarks/loghub-2k') },
    sets: { type: 'string' },
    lines: { type: 'string' },
    unique: { type: 'boolean', default: false },
  },
});
const dataDir = values.data;
if (!existsSync(join(dataDir, 'datasets.json'))) {
  console.error(
    `No Loghub-2k data in ${dataDir}: it comes from github.com/logpai/loghub (2k samples with corrected templates from github.com/logpai/logparser, data/loghub_2k_corrected); pass --data <dir>.`,
  );
  process.exit(1);
}

/** logpai/logparser's `generate_logformat_regex`: `<Field>` lazy, spaces flexible, whole line. */
function headerRegex(logFormat: string): RegExp {
  const parts = logFormat.split(/(<[^<>]+>)/);
  const source = parts
    .map((part) => {
      const field = /^<([^<>]+)>$/.exec(part)?.[1];
      return field ? `(?<${field}>.*?)` : part.replace(/ +/g, '\\s+');
    })
    .join('');
  return new RegExp(`^${source}$`);
}

/** RFC 4180: quoted fields may hold commas, doubled quotes and newlines. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

interface Scores {
  ga: number;
  fga: number;
  pairF1: number;
  groups: number;
}

const pairs = (n: number) => (n * (n - 1)) / 2;
const f1 = (p: number, r: number) => (p + r === 0 ? 0 : (2 * p * r) / (p + r));

/** GA, FGA and pair-F1 of a predicted partition against the truth, both as one label per line. */
function score(predicted: readonly number[], truth: readonly string[]): Scores {
  const predSize = new Map<number, number>();
  const truthSize = new Map<string, number>();
  const cell = new Map<string, number>();
  for (let i = 0; i < truth.length; i++) {
    const p = predicted[i] ?? -1;
    const t = truth[i] ?? '';
    predSize.set(p, (predSize.get(p) ?? 0) + 1);
    truthSize.set(t, (truthSize.get(t) ?? 0) + 1);
    const key = `${p}\u0000${t}`;
    cell.set(key, (cell.get(key) ?? 0) + 1);
  }
  // A ground-truth group is matched exactly when one cell holds all of it and all of its predicted group.
  let correctLines = 0;
  let correctGroups = 0;
  let together = 0;
  for (const [key, n] of cell) {
    together += pairs(n);
    const [p, t] = key.split('\u0000') as [string, string];
    if (n === truthSize.get(t) && n === predSize.get(Number(p))) {
      correctLines += n;
      correctGroups++;
    }
  }
  const predPairs = [...predSize.values()].reduce((s, n) => s + pairs(n), 0);
  const truthPairs = [...truthSize.values()].reduce((s, n) => s + pairs(n), 0);
  return {
    ga: correctLines / truth.length,
    fga: f1(correctGroups / predSize.size, correctGroups / truthSize.size),
    pairF1: f1(predPairs ? together / predPairs : 1, truthPairs ? together / truthPairs : 1),
    groups: predSize.size,
  };
}

// --- Reference Drain -------------------------------------------------------------------------------------

const DRAIN_MASKS = [
  /(?<![A-Za-z0-9])\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?(?![A-Za-z0-9])/g, // IPv4[:port]
  /(?<![A-Za-z0-9])0x[0-9a-fA-F]+(?![A-Za-z0-9])/g, // hex
  /(?<![A-Za-z0-9])[-+]?\d+(?![A-Za-z0-9])/g, // number
];

interface DrainCluster {
  tokens: string[];
  id: number;
}
type DrainNode = { children: Map<string, DrainNode>; clusters: DrainCluster[] };

/** Drain as in logpai/logparser: length node, then depth − 2 prefix tokens, then the most similar leaf cluster. */
function drain(messages: readonly string[], depth = 4, st = 0.5, maxChild = 100): number[] {
  const root = new Map<number, DrainNode>();
  const labels: number[] = [];
  let nextId = 0;
  const node = (): DrainNode => ({ children: new Map(), clusters: [] });
  for (const message of messages) {
    let masked = message;
    for (const mask of DRAIN_MASKS) masked = masked.replace(mask, '<*>');
    const tokens = masked.trim().split(/\s+/).filter(Boolean);
    let current: DrainNode = root.get(tokens.length) ?? node();
    root.set(tokens.length, current);
    for (let d = 0; d < Math.min(depth - 2, tokens.length); d++) {
      const token = tokens[d] ?? '';
      const key = /\d/.test(token) ? '<*>' : token;
      let next: DrainNode | undefined = current.children.get(key);
      if (!next) {
        // A full node sends new tokens down its `<*>` child.
        const slot = current.children.size + 1 < maxChild || key === '<*>' ? key : '<*>';
        next = current.children.get(slot) ?? node();
        current.children.set(slot, next);
      }
      current = next;
    }
    let best: DrainCluster | undefined;
    let bestSim = -1;
    let bestPars = -1;
    for (const c of current.clusters) {
      let same = 0;
      let pars = 0;
      c.tokens.forEach((t, i) => {
        if (t === '<*>') pars++;
        else if (t === tokens[i]) same++;
      });
      const sim = c.tokens.length ? same / c.tokens.length : 1;
      if (sim > bestSim || (sim === bestSim && pars > bestPars)) {
        best = c;
        bestSim = sim;
        bestPars = pars;
      }
    }
    if (best && bestSim >= st) {
      best.tokens = best.tokens.map((t, i) => (t === tokens[i] ? t : '<*>'));
      labels.push(best.id);
    } else {
      const cluster = { tokens, id: nextId++ };
      current.clusters.push(cluster);
      labels.push(cluster.id);
    }
  }
  return labels;
}

// --- Data ------------------------------------------------------------------------------------------------

interface LoadedSet {
  name: string;
  messages: string[];
  truth: string[];
}

function loadSets(): LoadedSet[] {
  const datasets = JSON.parse(readFileSync(join(dataDir, 'datasets.json'), 'utf8')) as Record<string, DatasetInfo>;
  const wanted = values.sets?.split(',');
  return Object.entries(datasets)
    .filter(([name, info]) => info.data_included && (!wanted || wanted.includes(name)))
    .map(([name, info]) => {
      const raw = readFileSync(join(dataDir, name, `${name}_2k.log`), 'utf8').split('\n');
      if (raw.at(-1) === '') raw.pop();
      const [, ...truthRows] = parseCsv(readFileSync(join(dataDir, name, `${name}_2k.log_structured.csv`), 'utf8'));
      const header = headerRegex(info.log_format);
      const messages = raw.map((line) => header.exec(line.trim())?.groups?.Content ?? line.trim());
      return { name, messages, truth: truthRows.map((r) => r[2] ?? '') };
    });
}

/** The template number of each line. */
function labelsOf(templates: readonly LogTemplate[], lines: number): number[] {
  const labels: number[] = new Array(lines).fill(-1);
  templates.forEach((t, id) => {
    for (const i of t.indices) labels[i] = id;
  });
  return labels;
}

function scale(n: number): void {
  const rand = random(42);
  const digits = () => String(Math.floor(rand() * 1e6));
  const pool = loadSets().flatMap((set) => set.messages.map((m, i) => [m, `${set.name} ${set.truth[i]}`] as const));
  const word = () =>
    Math.floor(rand() * 2 ** 31)
      .toString(36)
      .replace(/\d/g, 'x');
  const truth: string[] = [];
  const messages = Array.from({ length: n }, (_, i) => {
    if (values.unique) {
      truth.push(String(i));
      return Array.from({ length: 3 + Math.floor(rand() * 8) }, word).join(' ');
    }
    const [message, event] = pool[Math.floor(rand() * pool.length)] ?? ['', ''];
    truth.push(event);
    return message.replace(/\d+/g, digits);
  });
  const inputMb = process.memoryUsage().rss / 2 ** 20;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const templates = clusterMessages(messages);
  const { user, system } = process.cpuUsage(cpu);
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = (user + system) / 1e6;
  const peakMb = process.resourceUsage().maxRSS / 1024;
  const rate = (s: number) => Math.round(n / s).toLocaleString('en-US');
  const { ga } = score(labelsOf(templates, n), truth);
  // CPU time is the fair figure on a shared machine; wall time is printed too.
  console.log(
    `${n.toLocaleString('en-US')} ${values.unique ? 'unique random-word' : 'mixed Loghub-shaped'} lines: ${values.unique ? '' : `GA ${ga.toFixed(3)}, `}${rate(cpuSeconds)} lines per CPU-second (${cpuSeconds.toFixed(2)} s CPU; wall ${seconds.toFixed(2)} s, ${rate(seconds)} lines/s), ${templates.length} templates, peak RSS ${Math.round(peakMb)} MB (${Math.round(inputMb)} MB with the input generated, before clustering)`,
  );
}

function table(title: string, sets: readonly LoadedSet[]): void {
  const fmt = (x: number) => x.toFixed(3).padStart(6);
  console.log(title);
  console.log(
    `${'system'.padEnd(14)} ${'GA'.padStart(6)} ${'FGA'.padStart(6)} ${'pairF1'.padStart(6)} | ${'Drain GA'.padStart(8)} ${'FGA'.padStart(6)} ${'pairF1'.padStart(6)} | ${'groups'.padStart(6)} ${'ours'.padStart(5)} ${'Drain'.padStart(5)}`,
  );
  const sums = { ours: [0, 0, 0], drain: [0, 0, 0] };
  for (const { name, messages, truth } of sets) {
    const ours = score(labelsOf(clusterMessages(messages), messages.length), truth);
    const ref = score(drain(messages), truth);
    sums.ours = sums.ours.map((s, k) => s + ([ours.ga, ours.fga, ours.pairF1][k] ?? 0));
    sums.drain = sums.drain.map((s, k) => s + ([ref.ga, ref.fga, ref.pairF1][k] ?? 0));
    console.log(
      `${name.padEnd(14)} ${fmt(ours.ga)} ${fmt(ours.fga)} ${fmt(ours.pairF1)} | ${fmt(ref.ga).padStart(8)} ${fmt(ref.fga)} ${fmt(ref.pairF1)} | ${String(new Set(truth).size).padStart(6)} ${String(ours.groups).padStart(5)} ${String(ref.groups).padStart(5)}${ours.ga < ref.ga ? '  < Drain' : ''}`,
    );
  }
  const mean = (s: number[]) => s.map((x) => fmt(x / sets.length));
  const [g, f, p] = mean(sums.ours);
  const [dg, df, dp] = mean(sums.drain);
  console.log(`${'mean'.padEnd(14)} ${g} ${f} ${p} | ${dg?.padStart(8)} ${df} ${dp}\n`);
}

function accuracy(): void {
  table('Loghub-2k, one generic configuration: ours vs reference Drain (depth 4, st 0.5)', loadSets());
  if (!values.sets) table('Synthetic families (scripts/synthetic-logs.ts), 2,000 lines each', syntheticSets(random(7)));
}

if (values.lines === undefined) accuracy();
else if (Number.isInteger(Number(values.lines)) && Number(values.lines) > 0) scale(Number(values.lines));
else {
  console.error('--lines takes a positive whole number, e.g. --lines 1000000');
  process.exit(1);
}
