"""A small stand-in for prometheus_flask_exporter's PrometheusMetrics, built on the Prometheus Python client.

The exporter the article uses is not packaged in Debian; the client (python3-prometheus-client) is. This module
keeps the part of the exporter's interface the article shows, and its default request metrics under the same
names, labels and buckets, so dashboards made for the exporter work unchanged:

- flask_http_request_duration_seconds (histogram; method, path, status): duration of every request
- flask_http_request_total (counter; method, status): every request
- flask_http_request_exceptions_total (counter; method, status): requests that ended in an uncaught exception

and serves the default registry on /metrics (not counted itself), in OpenMetrics or the Prometheus text format
as the scraper's Accept header asks. `counter()` decorates a view like the exporter's decorator of the same name;
label values are constants or functions without arguments, evaluated in the request's context.
"""

import functools
from timeit import default_timer

from flask import Response, g, request
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.exposition import choose_encoder

_NOT_TRACKED = "prometheus_not_tracked"
_START = "prometheus_start_time"
_COUNTED = "prometheus_counted"


class PrometheusMetrics:
    """Default request metrics of a Flask app and a /metrics endpoint, as prometheus_flask_exporter has them."""

    def __init__(self, app, path="/metrics", registry=REGISTRY):
        self.registry = registry
        self.duration = Histogram(
            "flask_http_request_duration_seconds",
            "Flask HTTP request duration in seconds",
            ("method", "path", "status"),
            registry=registry,
        )
        self.total = Counter(
            "flask_http_request_total",
            "Total number of HTTP requests",
            ("method", "status"),
            registry=registry,
        )
        self.exceptions = Counter(
            "flask_http_request_exceptions_total",
            "Total number of HTTP requests which resulted in an exception",
            ("method", "status"),
            registry=registry,
        )
        app.before_request(self._before)
        app.after_request(self._after)
        app.teardown_request(self._teardown)
        app.add_url_rule(path, "prometheus_metrics", self._serve)

    def counter(self, name, description, labels=None):
        """A decorator counting every call of the view in `name`, labelled by `labels` (name: value or function)."""
        labels = labels or {}
        metric = Counter(name, description, tuple(labels), registry=self.registry)

        def decorator(view):
            @functools.wraps(view)
            def counted(*args, **kwargs):
                response = view(*args, **kwargs)
                values = {k: v() if callable(v) else v for k, v in labels.items()}
                (metric.labels(**values) if values else metric).inc()
                return response

            return counted

        return decorator

    def _serve(self):
        setattr(g, _NOT_TRACKED, True)
        encode, content_type = choose_encoder(request.headers.get("Accept"))
        return Response(encode(self.registry), headers={"Content-Type": content_type})

    def _before(self):
        setattr(g, _START, default_timer())

    def _record(self, status):
        if getattr(g, _NOT_TRACKED, False) or getattr(g, _COUNTED, False):
            return
        setattr(g, _COUNTED, True)
        elapsed = max(default_timer() - getattr(g, _START, default_timer()), 0)
        self.duration.labels(request.method, request.path, status).observe(elapsed)
        self.total.labels(request.method, status).inc()

    def _after(self, response):
        self._record(response.status_code)
        return response

    def _teardown(self, exception=None):
        if exception is None or getattr(g, _NOT_TRACKED, False):
            return
        self.exceptions.labels(request.method, 500).inc()
        self._record(500)
