// The explorer (`/explore?query=…`): a PromQL editor (loaded on demand), a graph of the range query and a table of
// the instant query at the range's end, the range and step, "Format" (the server's formatter), and errors shown
// with their position in the editor. The query, the tab, the range and the step are in the URL, so an exploration
// can be shared as a link.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Metric, QueryData } from "../api.ts";
import { ApiError, promGet, promPost } from "../api.ts";
import { TimeChart } from "../components/chart.tsx";
import { Panel } from "../components/panel.tsx";
import { TimeControls } from "../components/time-controls.tsx";
import type { PromQLEditor } from "../editor.ts";
import { formatValue } from "../format.ts";
import { addMatrix, emptyFrame, hasPoints, seriesLabel } from "../frame.ts";
import { setParams } from "../router.ts";
import type { Session } from "../session.ts";
import { gridOf, rangeOf } from "../time.ts";
import { useData } from "../use-data.ts";

/** The character offset of a server message's `line:col: parse error` in `query`, or null. */
export function errorOffset(query: string, message: string): number | null {
  const m = /(\d+):(\d+): parse error/.exec(message);
  if (m === null) return null;
  const lines = query.split("\n");
  const line = Math.min(lines.length, Math.max(1, Number(m[1])));
  let offset = 0;
  for (let i = 0; i < line - 1; i++) offset += lines[i].length + 1;
  return offset + Math.max(0, Number(m[2]) - 1);
}

const MAX_TABLE_ROWS = 1000;

function ResultTable(props: { readonly data: QueryData }) {
  const d = props.data;
  if (d.resultType === "scalar" || d.resultType === "string") {
    return <p class="mono">{d.result[1]}</p>;
  }
  const rows: { metric: Metric; value: string }[] =
    d.resultType === "vector"
      ? d.result.map((s) => ({ metric: s.metric, value: s.value[1] }))
      : d.result.map((s) => ({ metric: s.metric, value: `${s.values.length} points` }));
  return (
    <div class="table-scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">Series</th>
            <th scope="col" class="num">
              Value
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, MAX_TABLE_ROWS).map((r) => (
            <tr key={seriesLabel(r.metric)}>
              <td class="mono break">{seriesLabel(r.metric)}</td>
              <td class="num mono">{r.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > MAX_TABLE_ROWS && (
        <p class="muted">
          Showing {MAX_TABLE_ROWS} of {rows.length} series.
        </p>
      )}
    </div>
  );
}

/** The explorer page. */
export function Explore(props: { readonly session: Session; readonly params: URLSearchParams }) {
  const { org } = props.session;
  const { params } = props;
  const query = params.get("query") ?? "";
  const tab = params.get("tab") === "table" ? "table" : "graph";
  const stepParam = Number(params.get("step") ?? "");
  const [run, setRun] = useState(0);
  const editorHost = useRef<HTMLDivElement>(null);
  const editor = useRef<PromQLEditor | null>(null);
  const [editorError, setEditorError] = useState<string | null>(null);
  const rangeKey = `${params.get("range")}|${params.get("from")}|${params.get("to")}|${params.get("step")}`;
  // A new run re-reads the range.
  const grid = useMemo(
    () => gridOf(rangeOf(params), Number.isFinite(stepParam) && stepParam > 0 ? stepParam : undefined),
    [rangeKey, run],
  );

  const execute = () => {
    const text = editor.current?.value() ?? query;
    setParams({ query: text.trim() === "" ? null : text }, false);
    setRun((r) => r + 1);
  };
  const executeRef = useRef(execute);
  executeRef.current = execute;

  useEffect(() => {
    let live = true;
    import("../editor.ts").then(
      ({ createEditor }) => {
        if (!live || editorHost.current === null) return;
        editor.current = createEditor(editorHost.current, {
          org,
          doc: query,
          label: "PromQL expression",
          onRun: () => executeRef.current(),
        });
      },
      (err: Error) => setEditorError(err.message),
    );
    return () => {
      live = false;
      editor.current?.destroy();
      editor.current = null;
    };
    // The editor is made once per org; the URL seeds it.
  }, [org]);

  const graph = useData(
    async (signal) => {
      if (query === "" || tab !== "graph") return null;
      const data = await promPost<QueryData>(
        org,
        "api/v1/query_range",
        { query, start: String(grid.start), end: String(grid.end), step: String(grid.step) },
        signal,
      );
      const frame = emptyFrame(grid);
      addMatrix(frame, grid, data);
      return frame;
    },
    [org, query, tab, grid],
    (f) => f === null || !hasPoints(f),
  );
  const table = useData(
    async (signal) =>
      query === "" || tab !== "table"
        ? null
        : promPost<QueryData>(org, "api/v1/query", { query, time: String(grid.end) }, signal),
    [org, query, tab, grid],
    (d) =>
      d === null ||
      (Array.isArray(d.result) && d.resultType !== "scalar" && d.resultType !== "string" && d.result.length === 0),
  );
  const failed = tab === "graph" ? graph : table;
  useEffect(() => {
    const offset = failed.error === null ? null : errorOffset(query, failed.error);
    editor.current?.markError(offset === null ? null : { from: offset, message: failed.error ?? "" });
  }, [failed.error, query]);

  const format = async () => {
    const text = editor.current?.value() ?? query;
    try {
      const formatted = await promGet<string>(org, "api/v1/format_query", { query: text });
      editor.current?.setValue(formatted);
      editor.current?.markError(null);
    } catch (err) {
      const offset = err instanceof ApiError ? errorOffset(text, err.message) : null;
      editor.current?.markError({ from: offset ?? 0, message: (err as Error).message });
    }
  };

  return (
    <main id="main" class="page">
      <div class="page-head">
        <h1>Explore</h1>
        <TimeControls params={params} refresh={false} />
        <label>
          Step (s){" "}
          <input
            type="number"
            min="1"
            class="short"
            placeholder={String(grid.step)}
            value={params.get("step") ?? ""}
            onChange={(e) => setParams({ step: e.currentTarget.value || null })}
          />
        </label>
      </div>
      <div class="query-row">
        <div class="editor" ref={editorHost} data-editor="">
          {editorError !== null && <p class="error">The editor did not load: {editorError}</p>}
        </div>
        <div class="buttons">
          <button type="button" onClick={execute}>
            Execute
          </button>
          <button type="button" class="secondary" onClick={format}>
            Format
          </button>
        </div>
      </div>
      <div class="tabs" role="tablist" aria-label="result view">
        {(["graph", "table"] as const).map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            aria-selected={tab === t}
            class={tab === t ? "active" : ""}
            onClick={() => setParams({ tab: t === "graph" ? null : t })}
          >
            {t === "graph" ? "Graph" : "Table"}
          </button>
        ))}
      </div>
      {query === "" ? (
        <p class="muted">Write a PromQL expression and press Enter or Execute.</p>
      ) : tab === "graph" ? (
        <Panel title="Graph" state={graph.state} error={graph.error} class="wide">
          {graph.data !== null && <TimeChart frame={graph.data} height={320} />}
        </Panel>
      ) : (
        <Panel title="Table" state={table.state} error={table.error} class="wide">
          {table.data !== null && <ResultTable data={table.data} />}
        </Panel>
      )}
      <p class="muted small">
        Evaluated at {new Date(grid.end * 1000).toLocaleString()}; step {formatValue(grid.step, "seconds")}.
      </p>
    </main>
  );
}
