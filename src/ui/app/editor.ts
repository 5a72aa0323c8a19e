// The explorer's PromQL editor, loaded on demand (its own chunk): CodeMirror with codemirror-promql for
// highlighting, client-side linting at the error's position, and completion of functions, metric names, label
// names and values from the org's own API (the session cookie authorizes the calls). Enter runs the query,
// Shift-Enter adds a line.

import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { bracketMatching, HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { type Diagnostic, lintGutter, setDiagnostics } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, placeholder } from "@codemirror/view";
import { tags } from "@lezer/highlight";
import { PromQLExtension } from "@prometheus-io/codemirror-promql";

/** A mounted editor. */
export interface PromQLEditor {
  value(): string;
  setValue(text: string): void;
  /** Marks a server error at a character offset of the query (0-based), or clears the marks with null. */
  markError(error: { from: number; message: string } | null): void;
  focus(): void;
  destroy(): void;
}

// Colours that keep their contrast on the light and the dark theme (the editor's background follows the page).
const highlight = HighlightStyle.define([
  { tag: tags.keyword, color: "var(--syntax-keyword)" },
  { tag: tags.function(tags.variableName), color: "var(--syntax-function)" },
  { tag: tags.labelName, color: "var(--syntax-label)" },
  { tag: tags.string, color: "var(--syntax-string)" },
  { tag: tags.number, color: "var(--syntax-number)" },
  { tag: tags.operator, color: "var(--syntax-operator)" },
  { tag: tags.comment, color: "var(--muted)", fontStyle: "italic" },
]);

/** The API client's fetch: `status/flags`, which this server does not have, answers locally with no flags. */
const fetchFn: typeof fetch = (input, init) => {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  if (url.includes("/api/v1/status/flags")) {
    return Promise.resolve(new Response(JSON.stringify({ status: "success", data: {} }), { status: 200 }));
  }
  return fetch(input, { credentials: "same-origin", ...init });
};

/** Mounts an editor in `parent` for org `org`. */
export function createEditor(
  parent: HTMLElement,
  opts: { readonly org: string; readonly doc: string; readonly label: string; readonly onRun: () => void },
): PromQLEditor {
  const promql = new PromQLExtension()
    .setComplete({ remote: { url: `/prometheus/${encodeURIComponent(opts.org)}`, fetchFn, httpMethod: "GET" } })
    .activateLinter(true);
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: opts.doc,
      extensions: [
        promql.asExtension(),
        history(),
        closeBrackets(),
        bracketMatching(),
        autocompletion(),
        lintGutter(),
        syntaxHighlighting(highlight),
        placeholder("Expression, e.g. sum by (region) (rate(fly_edge_http_responses_count[5m]))"),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ "aria-label": opts.label }),
        keymap.of([
          {
            key: "Enter",
            run: () => {
              opts.onRun();
              return true;
            },
          },
          ...closeBracketsKeymap,
          ...completionKeymap,
          ...historyKeymap,
          ...defaultKeymap,
        ]),
      ],
    }),
  });
  return {
    value: () => view.state.doc.toString(),
    setValue: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
    markError: (error) => {
      const length = view.state.doc.length;
      const diagnostics: Diagnostic[] =
        error === null
          ? []
          : [
              {
                from: Math.min(error.from, length),
                to: Math.min(length, Math.max(error.from + 1, error.from)),
                severity: "error",
                message: error.message,
              },
            ];
      view.dispatch(setDiagnostics(view.state, diagnostics));
    },
    focus: () => view.focus(),
    destroy: () => {
      view.destroy();
      promql.destroy();
    },
  };
}
