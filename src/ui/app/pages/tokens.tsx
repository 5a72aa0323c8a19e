// The org's tokens: create a read token for Grafana (its secret shown once, with the data source's settings), list
// them and revoke one. Needs a session with read and write; a read-only session is told how to get one.

import { useState } from "preact/hooks";
import { call, send, type TokenInfo } from "../api.ts";
import { Panel } from "../components/panel.tsx";
import { ago, formatTime } from "../format.ts";
import { canManageTokens, type Session } from "../session.ts";
import { useData } from "../use-data.ts";

/** The tokens panel of the status page. */
export function TokensPanel(props: { readonly session: Session }) {
  const { org } = props.session;
  const base = `/control/v1/orgs/${encodeURIComponent(org)}/tokens`;
  const [version, setVersion] = useState(0);
  const [note, setNote] = useState("grafana");
  const [created, setCreated] = useState<{ token: string; info: TokenInfo } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const allowed = canManageTokens(props.session);
  const loaded = useData(
    async (signal) => (allowed ? (await call<{ tokens: TokenInfo[] }>(base, { signal })).tokens : []),
    [base, version, allowed],
    (list) => list.length === 0,
  );
  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      setCreated(await send<{ token: string; info: TokenInfo }>("POST", base, { note }));
      setVersion((v) => v + 1);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const revoke = async (id: string) => {
    setError(null);
    try {
      await send("DELETE", `${base}/${id}`);
      setVersion((v) => v + 1);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  if (!allowed) {
    return (
      <Panel
        title="Tokens"
        state="empty"
        emptyText="Managing tokens needs a session with read and write: sign in with a link from npx contrail console, or a read,write token."
      />
    );
  }
  const dsUrl = `${window.location.origin}/prometheus/${org}`;
  return (
    <Panel title="Tokens" state={loaded.state} error={loaded.error} emptyText="No tokens yet." class="wide">
      <form class="controls" onSubmit={create}>
        <label>
          Note <input value={note} maxLength={200} onInput={(e) => setNote(e.currentTarget.value)} />
        </label>
        <button type="submit">Create read token</button>
      </form>
      {error !== null && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {created !== null && (
        <div class="callout" data-new-token="">
          <p>
            New read token <strong>{created.info.id}</strong>, shown only this once:
          </p>
          <pre>
            <code data-token-secret="">{created.token}</code>
          </pre>
          <p>In Grafana: Connections → Data sources → Add data source → Prometheus, then</p>
          <ul>
            <li>
              URL: <code>{dsUrl}</code>
            </li>
            <li>
              Custom HTTP header <code>Authorization</code> with the value <code>Bearer {created.token}</code>
            </li>
            <li>“Save &amp; test”, then import dashboards/contrail-app.json.</li>
          </ul>
        </div>
      )}
      {loaded.data !== null && loaded.data.length > 0 && (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">ID</th>
                <th scope="col">Scopes</th>
                <th scope="col">Note</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {loaded.data.map((t) => (
                <tr key={t.id} data-token-id={t.id}>
                  <td>
                    <code>{t.id}</code>
                  </td>
                  <td>{t.scopes.join(",")}</td>
                  <td>{t.note ?? ""}</td>
                  <td>{formatTime(t.createdAt)}</td>
                  <td>{t.lastUsedAt === null ? "never" : ago(t.lastUsedAt)}</td>
                  <td>
                    {t.revokedAt !== null
                      ? "revoked"
                      : t.expiresAt !== null && t.expiresAt <= Date.now()
                        ? "expired"
                        : "active"}
                  </td>
                  <td>
                    {t.revokedAt === null && (
                      <button
                        type="button"
                        class="small"
                        onClick={() => revoke(t.id)}
                        aria-label={`revoke token ${t.id}`}
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}
