// An Express app that exports Prometheus metrics: Node.js process metrics, request counts and latencies per route,
// and a custom counter of events by type. The platform scrapes GET /metrics (see fly.toml [metrics]).

import express from "express";
import client from "prom-client";

const register = new client.Registry();
client.collectDefaultMetrics({ register });

const requestDuration = new client.Histogram({
  name: "http_request_duration_seconds",
  help: "Duration of HTTP requests in seconds.",
  labelNames: ["method", "route", "status"],
  buckets: [0.005, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 5],
  registers: [register],
});

const requestsTotal = new client.Counter({
  name: "http_requests_total",
  help: "Number of HTTP requests served.",
  labelNames: ["method", "route", "status"],
  registers: [register],
});

const eventsByType = new client.Counter({
  name: "events_by_type",
  help: "Number of events by type",
  labelNames: ["event_type"],
  registers: [register],
});

const app = express();

// Times every request and labels it by route pattern (not the raw URL, which would explode the series count).
app.use((req, res, next) => {
  const end = requestDuration.startTimer();
  res.on("finish", () => {
    const route = req.route ? `${req.baseUrl}${req.route.path}` : "unmatched";
    const labels = { method: req.method, route, status: String(res.statusCode) };
    end(labels);
    requestsTotal.inc(labels);
  });
  next();
});

app.get("/", (_req, res) => {
  res.send("Hello World!\n");
});

app.get("/event/:type", (req, res) => {
  eventsByType.inc({ event_type: req.params.type });
  res.send("You have been recorded.\n");
});

app.get("/metrics", async (_req, res) => {
  res.set("Content-Type", register.contentType);
  res.send(await register.metrics());
});

const port = Number(process.env.PORT || 3000);
const server = app.listen(port, "0.0.0.0", () => {
  console.log(`node-express-demo listening on port ${port}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
