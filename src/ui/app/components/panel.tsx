// A panel: a titled section whose element carries `data-panel` (its title) and `data-state`, the hooks the browser
// tests and people's own checks read. It shows a line for loading, empty and error, and its content once loaded.

import type { ComponentChildren } from "preact";
import type { PanelState } from "../use-data.ts";

/** Properties of {@link Panel}. */
export interface PanelProps {
  readonly title: string;
  readonly state: PanelState;
  readonly error?: string | null;
  /** What to say when the answer had no data. */
  readonly emptyText?: string;
  /** Extra class names (e.g. `wide`). */
  readonly class?: string;
  /** Controls shown in the panel's header. */
  readonly actions?: ComponentChildren;
  readonly children?: ComponentChildren;
}

let panelIds = 0;

/** A titled panel with its state in `data-state`. The content stays while a refresh loads. */
export function Panel(props: PanelProps) {
  const id = `panel-${++panelIds}`;
  return (
    <section
      class={`panel ${props.class ?? ""}`}
      data-panel={props.title}
      data-state={props.state}
      aria-labelledby={id}
      aria-busy={props.state === "loading"}
    >
      <header class="panel-head">
        <h3 id={id}>{props.title}</h3>
        {props.actions}
      </header>
      <div class="panel-body">
        {props.state === "loading" && <p class="muted">Loading…</p>}
        {props.state === "empty" && <p class="muted">{props.emptyText ?? "No data in this time range."}</p>}
        {props.state === "error" && (
          <p class="error" role="alert">
            {props.error}
          </p>
        )}
        {props.state === "ok" && props.children}
      </div>
    </section>
  );
}
