// A strict reader of the Prometheus text exposition format (version 0.0.4), for tests: any line that
// breaks the format throws, and histograms are checked for consistency as they are read.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?[0-9]+))?$`);
const LABEL_PAIR = new RegExp(`^(${LABEL})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"(,|$)`);
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** The families of the text, by name. Throws, naming the line, on anything outside the format. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: { name: string; family: Family } | undefined;
  const lines = text.split('\n');
  if (lines.pop() !== '') throw new Error('the text does not end with a line feed');
  lines.forEach((line, index) => {
    const fail = (why: string): never => {
      throw new Error(`line ${index + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line === '') return;
    if (line.startsWith('#')) {
      const [, keyword, name, rest] = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line) ?? [];
      if (!keyword) return; // a comment
      if (!new RegExp(`^${NAME}$`).test(name!)) fail('not a metric name');
      const family = families.get(name!) ?? { type: 'untyped' as const, help: '', samples: [] };
      if (family.samples.length > 0) fail(`${keyword} after the samples of ${name}`);
      if (keyword === 'TYPE') {
        if (!TYPES.has(rest!)) fail('unknown type');
        family.type = rest as Family['type'];
      } else {
        family.help = rest!.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
      }
      families.set(name!, family);
      current = { name: name!, family };
      return;
    }
    const [, name, labelText, valueText, timestamp] = SAMPLE.exec(line) ?? fail('not a sample');
    const value = parseValue(valueText!) ?? fail('not a number');
    if (timestamp !== undefined && !Number.isSafeInteger(Number(timestamp))) fail('not a timestamp');
    const sample = { name: name!, labels: parseLabels(labelText ?? '') ?? fail('bad labels'), value };
    if (current && belongsTo(name!, current.name, current.family.type)) {
      current.family.samples.push(sample);
    } else {
      if (families.has(name!)) fail(`samples of ${name} are not together`);
      current = { name: name!, family: { type: 'untyped', help: '', samples: [sample] } };
      families.set(name!, current.family);
    }
  });
  for (const [name, family] of families) if (family.type === 'histogram') checkHistogram(name, family);
  return families;
}

/** A value as Prometheus reads it (Go's ParseFloat): NaN and Inf in any case; prom-client writes `Nan`. */
function parseValue(text: string): number | undefined {
  if (/^\+?inf(inity)?$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/i.test(text)) return Number.NEGATIVE_INFINITY;
  if (/^nan$/i.test(text)) return Number.NaN;
  return /^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/.test(text) ? Number(text) : undefined;
}

function parseLabels(text: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest !== '') {
    const match = LABEL_PAIR.exec(rest);
    if (!match || Object.hasOwn(labels, match[1]!)) return undefined;
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(match[0].length);
  }
  return labels;
}

function belongsTo(sample: string, family: string, type: Family['type']): boolean {
  if (type === 'histogram') return [`${family}_bucket`, `${family}_sum`, `${family}_count`].includes(sample);
  if (type === 'summary') return [family, `${family}_sum`, `${family}_count`].includes(sample);
  return sample === family;
}

/** Per series: buckets ascending with counts that never fall, the +Inf bucket equal to _count, and a _sum. */
function checkHistogram(name: string, family: Family): void {
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number; sum?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (sample.name.endsWith('_bucket')) entry.buckets.push([parseValue(le ?? '') ?? Number.NaN, sample.value]);
    else if (sample.name.endsWith('_count')) entry.count = sample.value;
    else entry.sum = sample.value;
  }
  for (const [key, { buckets, count, sum }] of series) {
    const where = `histogram ${name} ${key}`;
    if (count === undefined || sum === undefined) throw new Error(`${where} lacks _count or _sum`);
    if (buckets.at(-1)?.[0] !== Number.POSITIVE_INFINITY || buckets.at(-1)?.[1] !== count) throw new Error(`${where}: the +Inf bucket is not _count`);
    buckets.forEach(([le, value], i) => {
      if (Number.isNaN(le)) throw new Error(`${where}: a bucket without a le`);
      if (i > 0 && (le <= buckets[i - 1]![0] || value < buckets[i - 1]![1])) throw new Error(`${where}: buckets out of order or not cumulative`);
    });
  }
}

/** The sum of the samples named `sample` of the family whose labels include these (0 when none does). */
export function sumOf(families: Map<string, Family>, family: string, sample: string, labels: Record<string, string> = {}): number {
  return (families.get(family)?.samples ?? [])
    .filter((s) => s.name === sample && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}
