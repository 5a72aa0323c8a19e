// The Node.js example of "Hooking Up Fly Metrics": Express with express-prometheus-middleware, which serves
// GET /metrics with Node.js process metrics (collectDefaultMetrics) and per-route request counts and durations,
// plus a custom counter of events by type, as in the article's Flask example. The platform scrapes /metrics
// (fly.toml [metrics]); the edge in front of it counts every request on its own (fly_edge_*).

import express from "express";
import prom from "express-prometheus-middleware";
import client from "prom-client";

const app = express();
const port = Number(process.env.PORT || 3000);

app.use(
  prom({
    metricsPath: "/metrics",
    collectDefaultMetrics: true,
  }),
);

// Registered in prom-client's default registry, which the middleware serves.
const eventsByType = new client.Counter({
  name: "events_by_type",
  help: "Number of events by type",
  labelNames: ["event_type"],
});

/** Longest delay GET /slow accepts, in milliseconds. */
const MAX_DELAY_MS = 30_000;

app.get("/", (_req, res) => {
  res.send("Hello World!");
});

app.get("/event/:type", (req, res) => {
  eventsByType.inc({ event_type: req.params.type });
  res.send("You have been recorded.");
});

// Answers after `?ms=` milliseconds (at most 30 s); without it, after 200 to 1200 ms.
app.get("/slow", (req, res) => {
  const asked = Number(req.query.ms);
  const ms = Number.isFinite(asked) && asked >= 0 ? Math.min(asked, MAX_DELAY_MS) : 200 + Math.random() * 1000;
  const timer = setTimeout(() => res.send(`Slept ${Math.round(ms)} ms.`), ms);
  res.on("close", () => clearTimeout(timer));
});

app.get("/error", (_req, res) => {
  res.status(500).send("Something broke.");
});

app.get("/notfound", (_req, res) => {
  res.status(404).send("Nothing here.");
});

const server = app.listen(port, "0.0.0.0", () => {
  console.log(`Example app listening at http://localhost:${port}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
