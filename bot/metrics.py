"""Prometheus metrics, one registry per app (tests build many apps in one process)."""

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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
