// The ways benchmarks talk to a server over HTTP: a file streamed as the body of one POST (bulk imports), a
// snappy-compressed Remote-Write 1.0 body, and a form POST whose answer is read back (API queries).

import { createReadStream } from "node:fs";
import { type Agent, request } from "node:http";
import { gunzipSync } from "node:zlib";

/** POSTs the file at `path` as text/plain; resolves on 200 or 204, rejects with the status otherwise. */
export function postFile(url: string, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers: { "content-type": "text/plain" } }, (res) => {
      res.resume();
      res.on("end", () =>
        res.statusCode === 204 || res.statusCode === 200 ? resolve() : reject(new Error(`import: ${res.statusCode}`)),
      );
    });
    req.on("error", reject);
    createReadStream(path).pipe(req);
  });
}

/** Headers of a Remote-Write 1.0 request, as Prometheus's queue manager sends them. */
const REMOTE_WRITE_HEADERS = {
  "content-type": "application/x-protobuf",
  "content-encoding": "snappy",
  "x-prometheus-remote-write-version": "0.1.0",
  "user-agent": "contrail-bench",
};

/**
 * POSTs one snappy-compressed Remote-Write 1.0 `body` on `agent` with `headers` added (e.g. authorization);
 * resolves on a 2xx answer, rejects with the status and the start of the answer otherwise.
 */
export function postRemoteWrite(
  url: string,
  body: Uint8Array,
  agent: Agent,
  headers: Record<string, string> = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: "POST", agent, headers: { ...REMOTE_WRITE_HEADERS, ...headers, "content-length": body.length } },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString();
        });
        res.on("end", () => {
          const s = res.statusCode ?? 0;
          if (s >= 200 && s < 300) resolve();
          else reject(new Error(`${url}: HTTP ${s}: ${text.slice(0, 500)}`));
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * POSTs `form` (application/x-www-form-urlencoded) on `agent` with `headers` added, asking for gzip; resolves with
 * the answer's status and its text (gunzipped when the server compressed it).
 */
export function postForm(
  url: string,
  form: URLSearchParams,
  agent: Agent,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const body = Buffer.from(form.toString());
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: {
          ...headers,
          "content-type": "application/x-www-form-urlencoded",
          "accept-encoding": "gzip",
          "content-length": body.length,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          try {
            const raw = Buffer.concat(chunks);
            const text = (res.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw).toString();
            resolve({ status: res.statusCode ?? 0, text });
          } catch (err) {
            reject(err);
          }
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
