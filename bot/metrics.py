"""Prometheus metrics, one registry per app (tests build many apps in one process)."""

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[str, str], Counter] = {}
        self._latency_children: dict[str, Histogram] = {}
        self.callbacks = Counter(
            "grassroots_callbacks",
            "WeChat callbacks by platform and outcome",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "grassroots_callback_seconds",
            "Time from request to answer for WeChat callbacks",
            ["platform"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.deferred_sends = Counter(
            "grassroots_deferred_replies",
            "Replies sent through the API after the callback deadline, by result",
            ["platform", "result"],
            registry=self.registry,
        )

    def callback(self, platform: str, outcome: str, seconds: float | None = None) -> None:
        """Count one callback; label children are looked up once, not per request."""
        key = (platform, outcome)
        counter = self._children.get(key)
        if counter is None:
            counter = self._children[key] = self.callbacks.labels(platform, outcome)
        counter.inc()
        if seconds is not None:
            histogram = self._latency_children.get(platform)
            if histogram is None:
                histogram = self._latency_children[platform] = self.latency.labels(platform)
            histogram.observe(seconds)
