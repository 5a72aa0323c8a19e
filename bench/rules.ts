// Cost of the rules module's hot parts: reading a 200-rule file (YAML, validation, PromQL and template parsing),
// expanding a typical alert annotation, and one round of a 20-rule group (10 recording, 10 alerting) over 1,000
// series in a MemoryStore through the in-process engine. Median of 5 runs.
// Run: npm run bench -- rules

import { Labels } from "../src/model/labels.ts";
import { Engine } from "../src/promql/engine/index.ts";
import { engineQueryFn, expandAlertTemplate, parseRuleFile, RuleManager } from "../src/rules/index.ts";
import { MemoryStore } from "../src/storage/memory.ts";
import { type Figure, printFigures, timeRuns } from "./harness.ts";

const FILE_RULES = 200;
const EXPANSIONS = 10_000;
const SERIES = 1_000;
const GROUP_RULES = 10;
const ROUNDS = 20;
const MIN = 60_000;
const T0 = 28_333_334 * MIN;
const MICROS_PER_MS = 1_000;

function ruleFile(n: number): string {
  let text = "groups:\n- name: bench\n  rules:\n";
  for (let i = 0; i < n; i++) {
    text +=
      i % 2 === 0
        ? `  - record: job:http_requests:rate5m_${i}\n    expr: sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))\n`
        : `  - alert: HighErrors${i}\n    expr: job:http_requests:rate5m_${i - 1} > 0.5\n    for: 10m\n    labels: {severity: page}\n    annotations:\n      summary: "{{ $labels.job }} errors at {{ $value | humanizePercentage }}"\n`;
  }
  return text;
}

const figures: Figure[] = [];
const file = ruleFile(FILE_RULES);
figures.push({
  name: `parse a ${FILE_RULES}-rule file`,
  unit: "ms/file",
  runs: await timeRuns(() => parseRuleFile(file, "bench.yml")),
  higherIsBetter: false,
});

const annotation =
  "{{ $labels.instance }} of job {{ $labels.job }} has been down for 5m (value {{ $value | humanize }})";
const data = { labels: { instance: "host-1:9100", job: "node" }, externalLabels: {}, externalUrl: "", value: 0.25 };
const expansions = await timeRuns(async () => {
  for (let i = 0; i < EXPANSIONS; i++) await expandAlertTemplate(annotation, "__alert_Down", data);
});
figures.push({
  name: "expand an annotation",
  unit: "µs/expansion",
  runs: expansions.map((ms) => (ms * MICROS_PER_MS) / EXPANSIONS),
  higherIsBetter: false,
});

const store = new MemoryStore();
const app = store.appender();
for (let s = 0; s < SERIES; s++) {
  const labels = Labels.fromStrings("__name__", "up", "job", `job${s % 10}`, "instance", `i${s}`);
  for (let t = T0 - 10 * MIN; t <= T0 + ROUNDS * 10 * MIN; t += 15_000) app.append(labels, t, s % 7 === 0 ? 0 : 1);
}
app.commit();
let groupText = "groups:\n- name: g\n  rules:\n";
for (let i = 0; i < GROUP_RULES; i++) {
  groupText += `  - record: job:up:sum${i}\n    expr: sum by (job) (up)\n`;
  groupText += `  - alert: Down${i}\n    expr: up == 0\n    for: 5m\n    annotations: {summary: "{{ $labels.instance }} down"}\n`;
}
let now = T0;
const manager = new RuleManager({
  query: engineQueryFn(new Engine(), () => store),
  append: async (_org, samples) => {
    const a = store.appender();
    for (const s of samples) a.append(s.labels, s.tMs, s.value);
    a.commit();
  },
  alertSink: () => {},
  now: () => now,
});
await manager.sync("bench", [{ namespace: "b", groups: parseRuleFile(groupText, "b") }]);
const rounds = await timeRuns(async () => {
  now += MIN;
  await manager.evaluateGroup("bench", "b", "g", now);
});
figures.push({
  name: `one round: ${GROUP_RULES * 2} rules over ${SERIES} series, ${Math.ceil(SERIES / 7)} alerts per alerting rule`,
  unit: "ms/round",
  runs: rounds,
  higherIsBetter: false,
});
printFigures("rules: file parsing, templates, group evaluation", figures);
