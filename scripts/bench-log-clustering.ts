/**
 * Grouping accuracy and throughput of the log clusterer on the Loghub-2k benchmark.
 *
 *   npx tsx scripts/bench-log-clustering.ts [--data <dir>] [--with-dataset-masks]
 *
 * Reads the data in place (default `../shared/benchmarks/loghub-2k`, relative to the repo root);
 * the data is licensed separately and is never copied into this repo. For each system it splits
 * every raw line into header and message with the dataset's `log_format`, clusters the messages and
 * compares the partition with the ground truth (`<Name>_2k.log_structured.csv`).
 *
 * Grouping accuracy (Zhu et al., ICSE-SEIP 2019): a line is correct when the set of lines sharing its
 * predicted template equals the set sharing its ground-truth event. The default run uses only the
 * clusterer's generic masks, as the rule does; `--with-dataset-masks` adds each system's
 * `preprocess_regex` (what published Drain figures use).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { clusterMessages } from '../packages/core/src/logs/cluster.js';

interface DatasetInfo {
  log_format: string;
  preprocess_regex: string[];
  drain_ga: number | null;
  data_included: boolean;
}

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: resolve(import.meta.dirname, '../../shared/benchmarks/loghub-2k') },
    'with-dataset-masks': { type: 'boolean', default: false },
  },
});
const dataDir = values.data;

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

function groupingAccuracy(predicted: readonly number[], truth: readonly string[]): number {
  const byPred = new Map<number, number[]>();
  const byTruth = new Map<string, number[]>();
  predicted.forEach((p, i) => {
    byPred.set(p, [...(byPred.get(p) ?? []), i]);
  });
  truth.forEach((t, i) => {
    byTruth.set(t, [...(byTruth.get(t) ?? []), i]);
  });
  let correct = 0;
  for (const members of byTruth.values()) {
    const first = members[0];
    if (first === undefined) continue;
    const cluster = byPred.get(predicted[first] ?? -1) ?? [];
    // Both are ascending lists of line numbers: equal length plus identical members.
    if (cluster.length === members.length && cluster.every((m, k) => m === members[k])) correct += members.length;
  }
  return correct / truth.length;
}

const datasets = JSON.parse(readFileSync(join(dataDir, 'datasets.json'), 'utf8')) as Record<string, DatasetInfo>;
const rows: string[] = [];
let accuracySum = 0;
let drainSum = 0;
let counted = 0;

for (const [name, info] of Object.entries(datasets)) {
  if (!info.data_included) continue;
  const raw = readFileSync(join(dataDir, name, `${name}_2k.log`), 'utf8').split('\n');
  if (raw.at(-1) === '') raw.pop();
  const [, ...truthRows] = parseCsv(readFileSync(join(dataDir, name, `${name}_2k.log_structured.csv`), 'utf8'));
  const header = headerRegex(info.log_format);
  let headerMismatches = 0;
  const messages = raw.map((line, i) => {
    const content = header.exec(line.trim())?.groups?.Content;
    const expected = truthRows[i]?.[1] ?? '';
    if (content !== expected) headerMismatches++;
    return content ?? line.trim();
  });
  const truth = truthRows.map((r) => r[2] ?? '');
  const extraMasks = values['with-dataset-masks'] ? info.preprocess_regex.map((r) => new RegExp(r, 'g')) : [];

  const templates = clusterMessages(messages, { extraMasks });
  const predicted: number[] = new Array(messages.length).fill(-1);
  templates.forEach((t, id) => {
    for (const i of t.indices) predicted[i] = id;
  });
  const accuracy = groupingAccuracy(predicted, truth);

  // Throughput: repeat until at least half a second has passed, for a stable figure.
  let lines = 0;
  const started = performance.now();
  while (performance.now() - started < 500) {
    clusterMessages(messages, { extraMasks });
    lines += messages.length;
  }
  const perSecond = lines / ((performance.now() - started) / 1000);

  accuracySum += accuracy;
  drainSum += info.drain_ga ?? 0;
  counted++;
  rows.push(
    [
      name.padEnd(10),
      accuracy.toFixed(3).padStart(8),
      (info.drain_ga?.toFixed(3) ?? '-').padStart(9),
      String(new Set(truth).size).padStart(7),
      String(templates.length).padStart(10),
      Math.round(perSecond).toLocaleString('en-US').padStart(12),
      headerMismatches ? `  (${headerMismatches} header mismatches)` : '',
    ].join(' '),
  );
}

console.log(
  `Loghub-2k grouping accuracy — ${values['with-dataset-masks'] ? 'generic + dataset masks' : 'generic masks only'}`,
);
console.log(
  `${'system'.padEnd(10)} ${'GA'.padStart(8)} ${'Drain GA'.padStart(9)} ${'groups'.padStart(7)} ${'templates'.padStart(10)} ${'lines/s'.padStart(12)}`,
);
for (const row of rows) console.log(row);
console.log(
  `${'average'.padEnd(10)} ${(accuracySum / counted).toFixed(3).padStart(8)} ${(drainSum / counted).toFixed(3).padStart(9)}`,
);
