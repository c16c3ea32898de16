"""Prometheus metrics, one registry per app (tests build many apps in one process)."""

from collections.abc import Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class DirectoryFigures(Protocol):
    hits: int
    misses: int
    reads: int
    full_loads: int
    partial_loads: int
    own_changes: int

    @property
    def size(self) -> tuple[int, int]: ...


class _DirectoryCollector(Collector):
    """Read at scrape time: an operator sees the directory's size (memory) and how senders are found."""

    def __init__(self, directory: DirectoryFigures) -> None:
        self._directory = directory

    def collect(self) -> Iterator[Metric]:
        d = self._directory
        lookups = CounterMetricFamily("grassroots_directory_lookups", "Senders looked up in memory, by result",
                                      labels=["result"])
        lookups.add_metric(["hit"], d.hits)
        lookups.add_metric(["miss"], d.misses)  # not in the directory: a stranger
        lookups.add_metric(["read"], d.reads)  # read back from the database after this process changed them
        yield lookups
        loads = CounterMetricFamily("grassroots_directory_loads", "Directory loads: everything, or what changed",
                                    labels=["kind"])
        loads.add_metric(["full"], d.full_loads)
        loads.add_metric(["changes"], d.partial_loads)
        yield loads
        yield CounterMetricFamily("grassroots_directory_own_changes",
                                  "Changes in the log that this process wrote itself and did not read back",
                                  value=d.own_changes)
        entries = GaugeMetricFamily("grassroots_directory_entries", "Entries held in memory", labels=["kind"])
        identities, people = d.size
        entries.add_metric(["identities"], identities)
        entries.add_metric(["people"], people)
        yield entries


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
        self.journal_batch = Histogram(
            "grassroots_journal_batch_operations",
            "Claims and settlements written by one group commit of the inbound log",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=self.registry,
        )
        self.deferred_sends = Counter(
            "grassroots_deferred_replies",
            "Replies sent through the API after the callback deadline, by result",
            ["platform", "result"],
            registry=self.registry,
        )

    def watch_directory(self, directory: DirectoryFigures) -> None:
        self.registry.register(_DirectoryCollector(directory))

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
