"""The Python example of "Hooking Up Fly Metrics": Flask with Prometheus metrics, as the article shows it.

The article imports PrometheusMetrics from prometheus_flask_exporter, which Debian does not package; flask_metrics
beside this file gives the same interface and default metrics on the Prometheus client that Debian packages. The
custom counter events_by_type counts GET /event/<event_type> by event_type; the platform scrapes /metrics (fly.toml
[metrics]) and the edge in front of the app counts every request on its own (fly_edge_*).
"""

import os
import random
import signal
import sys
import time

from flask import Flask, abort, request

from flask_metrics import PrometheusMetrics

app = Flask(__name__)
metrics = PrometheusMetrics(app)

# Longest delay GET /slow accepts, in seconds.
MAX_SLOW_SECONDS = 30


@app.route("/event/<event_type>")
@metrics.counter(
    "events_by_type", "Number of events by type", labels={"event_type": lambda: request.view_args["event_type"]}
)
def hello_event(event_type):
    return "You have been recorded."


@app.route("/")
def hello_world():
    return "Hello, World!"


@app.route("/slow")
def slow():
    """Answers after ?ms= milliseconds (at most 30 s), or after 200 to 1200 ms."""
    ms = request.args.get("ms", type=int)
    seconds = min(ms / 1000, MAX_SLOW_SECONDS) if ms is not None and ms >= 0 else random.uniform(0.2, 1.2)
    time.sleep(seconds)
    return f"Slept {round(seconds * 1000)} ms."


@app.route("/error")
def error():
    """An uncaught exception: Flask answers 500 and flask_http_request_exceptions_total counts it."""
    raise RuntimeError("Something broke.")


@app.route("/notfound")
def notfound():
    abort(404)


if __name__ == "__main__":
    # SIGTERM (how the platform stops an instance) ends the server as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "8080")), threaded=True)
