// The monitoring artefacts: the Prometheus alert rules (plain and as a
// PrometheusRule), their promtool unit tests, the Grafana dashboard and the
// alert runbooks in docs/alerts.md. Every query is checked against the metric
// catalog (src/observability/metrics/catalog.ts), so renaming a family or a
// label there, or adding one that no panel shows, fails here rather than in
// someone's Grafana.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { parse, stringify } from 'yaml';
import { ALL_FAMILIES, type FamilySpec } from '../../src/observability/metrics/catalog.ts';
import { onPath } from '../support/on-path.ts';

const REPO_ROOT = join(import.meta.dirname, '..', '..');
const RULES = 'deploy/prometheus/martello-alerts.yaml';
const RULE_TESTS = 'deploy/prometheus/martello-alerts.test.yaml';
const PROMETHEUS_RULE = 'deploy/prometheus/martello-prometheusrule.yaml';
const DASHBOARD = 'deploy/grafana/martello-dashboard.json';
const RUNBOOKS = 'docs/alerts.md';
const RUNBOOK_BASE = 'https://github.com/martello-dev/martello/blob/main/docs/alerts.md';

/** The alerts the rules file must define (issue 8): adding one means adding it here, to the unit tests and to docs/alerts.md. */
const EXPECTED_ALERTS = [
  'MartelloHighErrorRate',
  'MartelloHighLatency',
  'MartelloUpstreamFailures',
  'MartelloEndpointsEjected',
  'MartelloOverloaded',
  'MartelloConnectionsRejected',
  'MartelloCertificateExpiringSoon',
  'MartelloCertificateExpiringVerySoon',
  'MartelloCertificateExpired',
  'MartelloConfigNotApplied',
  'MartelloConfigErrors',
  'MartelloKubeWatchStalled',
  'MartelloWorkerRestarting',
];

/**
 * Catalog families the dashboard may leave out, each with the reason. Empty
 * today: every family is on a panel. A family added to the catalog must get a
 * panel or an entry here.
 */
const NOT_ON_DASHBOARD: ReadonlyMap<string, string> = new Map<string, string>([]);

const DATASOURCE_UID = '${datasource}';
/** Labels Prometheus adds to every series it scrapes (the unit tests' input series carry them). */
const TARGET_LABELS = ['job', 'instance'];
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'] as const;

// ---------------------------------------------------------------------------
// The shapes read here (only the fields the assertions use).

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface RuleGroup {
  name: string;
  interval?: string;
  rules: Rule[];
}

interface RulesFile {
  groups: RuleGroup[];
}

interface AlertCase {
  eval_time: string;
  alertname: string;
  exp_alerts?: Array<{ exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }> | null;
}

interface RuleTestFile {
  rule_files: string[];
  tests: Array<{ name?: string; input_series: Array<{ series: string; values: string }>; alert_rule_test?: AlertCase[] }>;
}

interface DataSourceRef {
  type?: string;
  uid?: string;
}

interface Target {
  refId?: string;
  expr?: string;
  datasource?: DataSourceRef;
}

interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: DataSourceRef | string | null;
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: Target[];
  panels?: Panel[];
}

interface TemplateVariable {
  name: string;
  type: string;
  query?: string | { query?: string };
  definition?: string;
  datasource?: DataSourceRef;
}

interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels: Panel[];
  templating: { list: TemplateVariable[] };
}

// ---------------------------------------------------------------------------
// Helpers: files and processes.

async function readText(path: string): Promise<string> {
  return readFile(join(REPO_ROOT, path), 'utf8');
}

async function readYaml<T>(path: string): Promise<T> {
  return parse(await readText(path)) as T;
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: REPO_ROOT, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const PROMTOOL_MISSING = 'promtool not found: apt-get install prometheus (CI installs it)';

/** promtool's path, or undefined after skipping the test (outside CI) or failing it (in CI). */
async function promtool(t: TestContext): Promise<string | undefined> {
  const path = await onPath('promtool');
  if (path !== undefined) return path;
  if (process.env.CI !== undefined && process.env.CI !== '') assert.fail(`${PROMTOOL_MISSING}; CI must have it`);
  t.skip(PROMTOOL_MISSING);
  return undefined;
}

// ---------------------------------------------------------------------------
// Helpers: metric names and labels in PromQL.

const FAMILIES: ReadonlyMap<string, FamilySpec> = new Map(ALL_FAMILIES.map((f) => [f.name, f]));

interface MetricRef {
  readonly name: string;
  readonly family: FamilySpec;
  readonly suffix: '' | (typeof HISTOGRAM_SUFFIXES)[number];
}

/**
 * The catalog family a series name belongs to: the family itself, or a
 * histogram's _bucket/_sum/_count series. A histogram's bare name is not a
 * series Prometheus stores, so it does not resolve.
 */
function resolveMetric(name: string): MetricRef | string {
  const direct = FAMILIES.get(name);
  if (direct !== undefined) {
    return direct.type === 'histogram' ? `${name} is a histogram: query ${name}_bucket, _sum or _count` : { name, family: direct, suffix: '' };
  }
  for (const suffix of HISTOGRAM_SUFFIXES) {
    if (!name.endsWith(suffix)) continue;
    const base = FAMILIES.get(name.slice(0, -suffix.length));
    if (base?.type === 'histogram') return { name, family: base, suffix };
  }
  return `${name} is not a family in src/observability/metrics/catalog.ts`;
}

/** The labels a series of this reference carries. */
function labelsOf(ref: MetricRef): ReadonlySet<string> {
  return new Set(ref.suffix === '_bucket' ? [...ref.family.labels, 'le'] : ref.family.labels);
}

/** Every martello_* name in a query, as the plain text has it. */
function metricNames(expr: string): string[] {
  return [...new Set(expr.match(/martello_[a-z0-9_]+/g) ?? [])];
}

type TokenKind = 'ident' | 'string' | 'number' | 'range' | 'punct' | 'op';
interface Token {
  readonly kind: TokenKind;
  readonly text: string;
}

/** A PromQL tokenizer, enough to find selectors, label matchers and grouping clauses. */
function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) j += c !== '`' && expr[j] === '\\' ? 2 : 1;
      assert.ok(j < expr.length, `unterminated string in: ${expr}`);
      tokens.push({ kind: 'string', text: expr.slice(i + 1, j) });
      i = j + 1;
    } else if (c === '[') {
      const j = expr.indexOf(']', i);
      assert.ok(j > i, `unterminated [ in: ${expr}`);
      tokens.push({ kind: 'range', text: expr.slice(i, j + 1) });
      i = j + 1;
    } else if (/[A-Za-z_:$]/.test(c)) {
      const m = /^\$?\{?[A-Za-z_:][A-Za-z0-9_:]*\}?/.exec(expr.slice(i))!;
      tokens.push({ kind: 'ident', text: m[0] });
      i += m[0].length;
    } else if (/[0-9.]/.test(c)) {
      const m = /^[0-9.][0-9A-Za-z_.+-]*/.exec(expr.slice(i))!;
      // "1e+3" is one number; "5-3" is not: stop a sign that does not follow an exponent.
      const text = m[0].replace(/(?<![eE])[+-].*$/, '');
      tokens.push({ kind: 'number', text });
      i += text.length;
    } else if ('(){},'.includes(c)) {
      tokens.push({ kind: 'punct', text: c });
      i++;
    } else {
      const m = /^[-+*/%^=!<>~]+/.exec(expr.slice(i));
      assert.ok(m !== null, `unexpected character ${JSON.stringify(c)} in: ${expr}`);
      tokens.push({ kind: 'op', text: m[0] });
      i += m[0].length;
    }
  }
  return tokens;
}

const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);

/** The index of the parenthesis matching the one at `open` (either direction). */
function matching(tokens: readonly Token[], open: number): number {
  const forward = tokens[open]!.text === '(';
  const [here, there] = forward ? ['(', ')'] : [')', '('];
  let depth = 0;
  for (let i = open; forward ? i < tokens.length : i >= 0; i += forward ? 1 : -1) {
    const t = tokens[i]!;
    if (t.kind !== 'punct') continue;
    if (t.text === here) depth++;
    else if (t.text === there && --depth === 0) return i;
  }
  assert.fail(`unbalanced parentheses at token ${open}`);
}

/** The identifiers of a parenthesised label list starting at `open`, and the index after it. */
function labelList(tokens: readonly Token[], open: number): { labels: string[]; end: number } {
  assert.equal(tokens[open]?.text, '(', 'a label list starts with (');
  const close = matching(tokens, open);
  const labels = tokens.slice(open + 1, close).filter((t) => t.kind === 'ident').map((t) => t.text);
  return { labels, end: close + 1 };
}

/**
 * Every problem with the metric names and label names of one PromQL query:
 * unknown families, matchers on labels a family does not have, and grouping
 * (by, without, on, ignoring, group_left/right) on labels that the series in
 * scope do not carry.
 */
function checkQuery(expr: string): string[] {
  const problems: string[] = [];
  const tokens = tokenize(expr);
  const refs = new Map<number, MetricRef>(); // token index → reference
  for (const [i, t] of tokens.entries()) {
    if (t.kind !== 'ident' || !t.text.startsWith('martello_')) continue;
    if (tokens[i + 1]?.text === '(') {
      problems.push(`${t.text} is used as a function`);
      continue;
    }
    const ref = resolveMetric(t.text);
    if (typeof ref === 'string') {
      problems.push(ref);
      continue;
    }
    refs.set(i, ref);
    // Label matchers: {label op "value", ...}
    if (tokens[i + 1]?.text === '{') {
      const allowed = labelsOf(ref);
      for (let j = i + 2; j < tokens.length && tokens[j]!.text !== '}'; j++) {
        const m = tokens[j]!;
        if (m.kind === 'ident' && tokens[j + 1]?.kind === 'op' && !allowed.has(m.text)) {
          problems.push(`${t.text}{${m.text}...}: ${ref.family.name} has no label ${m.text} (labels: ${[...allowed].join(', ') || 'none'})`);
        }
      }
    }
  }
  const refsIn = (from: number, to: number): MetricRef[] => [...refs.entries()].filter(([i]) => i >= from && i <= to).map(([, r]) => r);

  for (const [i, t] of tokens.entries()) {
    if (t.kind !== 'ident' || tokens[i + 1]?.text !== '(') continue;
    if (t.text === 'by' || t.text === 'without') {
      const { labels, end } = labelList(tokens, i + 1);
      // sum by (...) (expr), or sum (expr) by (...)
      let scope: [number, number];
      if (tokens[i - 1]?.kind === 'ident' && AGGREGATIONS.has(tokens[i - 1]!.text)) scope = [end, matching(tokens, end)];
      else if (tokens[i - 1]?.text === ')') scope = [matching(tokens, i - 1), i - 1];
      else {
        problems.push(`${t.text} (...) outside an aggregation`);
        continue;
      }
      const inScope = refsIn(...scope);
      for (const label of labels) {
        for (const ref of inScope) {
          if (!labelsOf(ref).has(label)) problems.push(`${t.text} (${labels.join(', ')}): ${ref.name} has no label ${label}`);
        }
      }
    } else if (['on', 'ignoring', 'group_left', 'group_right'].includes(t.text)) {
      const { labels } = labelList(tokens, i + 1);
      const all = [...refs.values()];
      for (const label of labels) {
        if (all.length > 0 && !all.some((ref) => labelsOf(ref).has(label))) problems.push(`${t.text} (${label}): no series in the query has label ${label}`);
      }
    }
  }
  return problems;
}

/** Grafana's variables replaced, so that the query is plain PromQL. */
function withoutVariables(expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g, '5m')
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, '.*');
}

/** A label_values(selector, label) variable query, as a selector and a label. */
function labelValuesQuery(query: string): { selector: string; label: string } | undefined {
  const m = /^\s*label_values\(\s*(.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$/s.exec(query);
  return m === null ? undefined : { selector: m[1]!, label: m[2]! };
}

/** GitHub's anchor for a Markdown heading. */
function githubAnchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

function alertRules(file: RulesFile): Rule[] {
  return file.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
}

// ---------------------------------------------------------------------------
// The analyzer itself: it must catch what it is there to catch.

describe('the PromQL label check', () => {
  test('accepts catalog families and labels', () => {
    assert.deepEqual(checkQuery('histogram_quantile(0.99, sum by (namespace, ingress, le) (rate(martello_http_request_duration_seconds_bucket{namespace=~"a"}[5m])))'), []);
    assert.deepEqual(checkQuery('sum(rate(martello_http_requests_total{status="5xx"}[5m])) by (namespace)'), []);
    assert.deepEqual(checkQuery('martello_worker_config_generation < ignoring (worker) group_left martello_config_generation'), []);
    assert.deepEqual(checkQuery('sum without (worker) (increase(martello_worker_restarts_total[15m])) > 3'), []);
  });

  test('rejects unknown families, histograms without a suffix and foreign suffixes', () => {
    assert.match(checkQuery('rate(martello_http_responses_total[5m])').join('\n'), /not a family/);
    assert.match(checkQuery('martello_http_request_duration_seconds').join('\n'), /is a histogram/);
    assert.match(checkQuery('rate(martello_http_requests_total_count[5m])').join('\n'), /not a family/);
  });

  test('rejects labels a family does not have, in matchers and in grouping', () => {
    assert.match(checkQuery('martello_http_requests_total{code="5xx"}').join('\n'), /has no label code/);
    assert.match(checkQuery('martello_http_requests_total_bucket{le="1"}').join('\n'), /not a family/);
    assert.match(checkQuery('rate(martello_upstream_header_duration_seconds_count{le="1"}[5m])').join('\n'), /has no label le/);
    assert.match(checkQuery('sum by (ingress) (rate(martello_upstream_failures_total[5m]))').join('\n'), /has no label ingress/);
    assert.match(checkQuery('sum(rate(martello_upstream_failures_total[5m])) by (service)').join('\n'), /has no label service/);
    assert.match(checkQuery('sum without (pod) (martello_worker_up)').join('\n'), /has no label pod/);
    assert.match(checkQuery('martello_config_generation > on (worker) martello_config_problems').join('\n'), /no series in the query has label worker/);
  });
});

// ---------------------------------------------------------------------------
// Alert rules.

describe('Prometheus alert rules', () => {
  let rules: RulesFile;
  let alerts: Rule[];
  before(async () => {
    rules = await readYaml<RulesFile>(RULES);
    alerts = alertRules(rules);
  });

  test('define the expected alerts, each once', () => {
    const names = alerts.map((r) => r.alert!);
    assert.deepEqual([...names].sort(), [...EXPECTED_ALERTS].sort());
    assert.equal(new Set(rules.groups.map((g) => g.name)).size, rules.groups.length, 'group names are unique');
  });

  test('every alert has a severity, a summary, a description and a runbook in docs/alerts.md', async () => {
    const headings = [...(await readText(RUNBOOKS)).matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => githubAnchor(m[1]!));
    for (const rule of alerts) {
      const where = `alert ${rule.alert}`;
      assert.ok(['warning', 'critical'].includes(rule.labels?.severity ?? ''), `${where}: severity must be warning or critical, got ${rule.labels?.severity}`);
      assert.ok((rule.annotations?.summary ?? '').trim() !== '', `${where}: summary`);
      assert.ok((rule.annotations?.description ?? '').trim() !== '', `${where}: description`);
      const anchor = rule.alert!.toLowerCase();
      assert.equal(rule.annotations?.runbook_url, `${RUNBOOK_BASE}#${anchor}`, `${where}: runbook_url`);
      assert.ok(headings.includes(anchor), `${where}: docs/alerts.md has no heading with anchor #${anchor}`);
      assert.ok(rule.expr.trim() !== '', `${where}: expr`);
    }
  });

  test('use only catalog families and their labels', () => {
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      const where = `rule ${rule.alert ?? rule.record}`;
      for (const name of metricNames(rule.expr)) {
        const ref = resolveMetric(name);
        assert.ok(typeof ref !== 'string', `${where}: ${ref as string}`);
      }
      assert.deepEqual(checkQuery(rule.expr), [], `${where}: ${rule.expr}`);
    }
  });

  test('the PrometheusRule holds exactly the groups of the plain rules file', async () => {
    const resource = await readYaml<{ apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec: RulesFile }>(PROMETHEUS_RULE);
    assert.equal(resource.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(resource.kind, 'PrometheusRule');
    assert.equal(resource.metadata.name, 'martello');
    assert.equal(resource.metadata.namespace, 'martello');
    assert.deepEqual(resource.spec.groups, rules.groups,
      `${PROMETHEUS_RULE} differs from ${RULES}: regenerate it with the command in its header`);
  });

  test('the unit tests cover every alert, firing and silent', async () => {
    const tests = await readYaml<RuleTestFile>(RULE_TESTS);
    assert.deepEqual(tests.rule_files, ['martello-alerts.yaml']);
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const name of EXPECTED_ALERTS) {
      const own = cases.filter((c) => c.alertname === name);
      assert.ok(own.some((c) => (c.exp_alerts ?? []).length > 0), `${RULE_TESTS}: no case where ${name} fires`);
      assert.ok(own.some((c) => (c.exp_alerts ?? []).length === 0), `${RULE_TESTS}: no case where ${name} must stay silent`);
      for (const c of own) {
        for (const a of c.exp_alerts ?? []) {
          const rule = alerts.find((r) => r.alert === name)!;
          assert.equal(a.exp_labels?.severity, rule.labels?.severity, `${name} at ${c.eval_time}: the expected labels include the severity`);
          assert.deepEqual(Object.keys(a.exp_annotations ?? {}).sort(), Object.keys(rule.annotations ?? {}).sort(), `${name} at ${c.eval_time}: every annotation is checked`);
        }
      }
    }
    // The input series are series Martello exposes, plus the target labels Prometheus adds.
    for (const { series } of tests.tests.flatMap((t) => t.input_series)) {
      const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?$/.exec(series);
      assert.ok(m !== null, `${RULE_TESTS}: cannot read series ${series}`);
      const ref = resolveMetric(m[1]!);
      assert.ok(typeof ref !== 'string', `${RULE_TESTS}: input series ${series}: ${ref as string}`);
      const names = [...(m[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*=/g)].map((l) => l[1]!);
      const expected = [...labelsOf(ref), ...TARGET_LABELS];
      assert.deepEqual(names.filter((l) => !expected.includes(l)), [], `${RULE_TESTS}: input series ${series} has labels ${ref.family.name} does not have`);
    }
  });

  describe('promtool', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'martello-rules-'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    test('promtool check rules accepts the rules', async (t) => {
      const bin = await promtool(t);
      if (bin === undefined) return;
      const result = await run(bin, ['check', 'rules', RULES]);
      assert.equal(result.code, 0, `promtool check rules failed:\n${result.stdout}${result.stderr}`);
      assert.match(result.stdout, new RegExp(`SUCCESS: ${rules.groups.flatMap((g) => g.rules).length} rules found`));
    });

    test('promtool check rules rejects a broken copy, with a message', async (t) => {
      const bin = await promtool(t);
      if (bin === undefined) return;
      const broken = structuredClone(rules);
      const first = broken.groups[0]!.rules[0]!;
      first.expr = `${first.expr.trimEnd()} )`; // one parenthesis too many
      const path = join(dir, 'broken.yaml');
      await writeFile(path, stringify(broken));
      const result = await run(bin, ['check', 'rules', path]);
      assert.notEqual(result.code, 0, 'promtool must reject an expression that does not parse');
      assert.match(`${result.stdout}${result.stderr}`, /parse error|unexpected/i);
    });

    test('promtool test rules passes the unit tests', async (t) => {
      const bin = await promtool(t);
      if (bin === undefined) return;
      const result = await run(bin, ['test', 'rules', RULE_TESTS]);
      assert.equal(result.code, 0, `promtool test rules failed:\n${result.stdout}${result.stderr}`);
      assert.match(result.stdout, /SUCCESS/);
    });

    test('every dashboard query is valid PromQL', async (t) => {
      const bin = await promtool(t);
      if (bin === undefined) return;
      const dashboard = JSON.parse(await readText(DASHBOARD)) as Dashboard;
      // Each query as a recording rule: promtool parses them all.
      const recorded: Rule[] = [];
      for (const panel of allPanels(dashboard.panels)) {
        for (const target of panel.targets ?? []) {
          recorded.push({ record: `dashboard:panel_${panel.id}:${target.refId}`, expr: withoutVariables(target.expr ?? '') });
        }
      }
      for (const v of dashboard.templating.list) {
        const q = labelValuesQuery(typeof v.query === 'string' ? v.query : v.query?.query ?? '');
        if (q !== undefined) recorded.push({ record: `dashboard:variable_${v.name}`, expr: withoutVariables(q.selector) });
      }
      const path = join(dir, 'dashboard-queries.yaml');
      await writeFile(path, stringify({ groups: [{ name: 'dashboard', rules: recorded }] }));
      const result = await run(bin, ['check', 'rules', path]);
      assert.equal(result.code, 0, `a dashboard query does not parse:\n${result.stdout}${result.stderr}`);
    });
  });
});

// ---------------------------------------------------------------------------
// Grafana dashboard.

describe('Grafana dashboard', () => {
  let dashboard: Dashboard;
  let panels: Panel[];
  before(async () => {
    dashboard = JSON.parse(await readText(DASHBOARD)) as Dashboard;
    panels = allPanels(dashboard.panels);
  });

  test('is a current dashboard with a stable uid', () => {
    assert.ok((dashboard.schemaVersion ?? 0) >= 36, `schemaVersion ${dashboard.schemaVersion}`);
    assert.equal(dashboard.uid, 'martello-overview');
    assert.ok((dashboard.title ?? '') !== '');
  });

  test('takes its data source and routes from template variables', () => {
    const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    const ds = vars.get('datasource');
    assert.equal(ds?.type, 'datasource');
    assert.equal(ds?.query, 'prometheus');
    for (const [name, label] of [['namespace', 'namespace'], ['ingress', 'ingress']] as const) {
      const v = vars.get(name);
      assert.equal(v?.type, 'query', `variable ${name}`);
      assert.equal(v?.datasource?.uid, DATASOURCE_UID, `variable ${name} queries \${datasource}`);
      const q = labelValuesQuery(typeof v?.query === 'string' ? v.query : v?.query?.query ?? '');
      assert.ok(q !== undefined, `variable ${name} is a label_values() query`);
      assert.equal(q.label, label);
      assert.match(q.selector, /^martello_http_requests_total\b/);
      const family = resolveMetric('martello_http_requests_total');
      assert.ok(typeof family !== 'string' && family.family.labels.includes(q.label), `variable ${name}: martello_http_requests_total has no label ${q.label}`);
      assert.deepEqual(checkQuery(q.selector), [], `variable ${name}`);
    }
  });

  test('every panel has a unique id and the ${datasource} data source', () => {
    const ids = new Set<number>();
    for (const panel of panels) {
      const where = `panel ${JSON.stringify(panel.title)}`;
      assert.ok(Number.isInteger(panel.id), `${where}: an integer id`);
      assert.ok(!ids.has(panel.id!), `${where}: id ${panel.id} is used twice`);
      ids.add(panel.id!);
      if (panel.type === 'row') continue; // rows hold no queries
      assert.deepEqual(panel.datasource, { type: 'prometheus', uid: DATASOURCE_UID }, `${where}: datasource`);
      assert.ok((panel.targets ?? []).length > 0, `${where}: has queries`);
      const refIds = new Set<string>();
      for (const target of panel.targets ?? []) {
        assert.equal(target.datasource?.uid, DATASOURCE_UID, `${where} ${target.refId}: datasource`);
        assert.ok(target.refId !== undefined && !refIds.has(target.refId), `${where}: refId ${target.refId} missing or repeated`);
        refIds.add(target.refId);
        assert.ok((target.expr ?? '').trim() !== '', `${where} ${target.refId}: expr`);
      }
    }
  });

  test('panels do not overlap', () => {
    const placed = panels.filter((p) => p.gridPos !== undefined);
    assert.equal(placed.length, panels.length, 'every panel has a gridPos');
    for (const [i, a] of placed.entries()) {
      const ga = a.gridPos!;
      assert.ok(ga.x >= 0 && ga.w > 0 && ga.x + ga.w <= 24, `panel ${a.title}: fits in 24 columns`);
      for (const b of placed.slice(i + 1)) {
        const gb = b.gridPos!;
        const overlap = ga.x < gb.x + gb.w && gb.x < ga.x + ga.w && ga.y < gb.y + gb.h && gb.y < ga.y + ga.h;
        assert.ok(!overlap, `panels ${JSON.stringify(a.title)} and ${JSON.stringify(b.title)} overlap`);
      }
    }
  });

  test('queries use only catalog families and their labels', () => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const where = `panel ${JSON.stringify(panel.title)} ${target.refId}`;
        const expr = target.expr ?? '';
        for (const name of metricNames(expr)) {
          const ref = resolveMetric(name);
          assert.ok(typeof ref !== 'string', `${where}: ${ref as string}`);
        }
        assert.deepEqual(checkQuery(expr), [], `${where}: ${expr}`);
      }
    }
  });

  test('shows every catalog family (or says why not)', () => {
    const shown = new Set<string>();
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        for (const name of metricNames(target.expr ?? '')) {
          const ref = resolveMetric(name);
          if (typeof ref !== 'string') shown.add(ref.family.name);
        }
      }
    }
    for (const [name, reason] of NOT_ON_DASHBOARD) {
      assert.ok(ALL_FAMILIES.some((f) => f.name === name), `NOT_ON_DASHBOARD names ${name}, which is not in the catalog`);
      assert.ok(reason.trim() !== '', `NOT_ON_DASHBOARD: ${name} needs a reason`);
      assert.ok(!shown.has(name), `${name} is on the dashboard: remove it from NOT_ON_DASHBOARD`);
    }
    const missing = ALL_FAMILIES.map((f) => f.name).filter((n) => !shown.has(n) && !NOT_ON_DASHBOARD.has(n));
    assert.deepEqual(missing, [], 'catalog families on no panel: add a panel, or list them in NOT_ON_DASHBOARD with a reason');
  });
});
