"""Fault injection: latency, random errors, forced errcodes, HTTP 500s and dropped connections."""

import random
from dataclasses import asdict, dataclass, field
from typing import Any

FAULT_DROP = "drop"
FAULT_HTTP_500 = "http_500"
FAULT_FORCED = "forced"
FAULT_ERROR_RATE = "error_rate"


@dataclass
class ForcedError:
    """Answer the next `count` calls whose path ends with `endpoint` with `errcode`."""

    endpoint: str
    errcode: int
    count: int = 1
    errmsg: str | None = None

    def matches(self, path: str) -> bool:
        wanted = self.endpoint.strip("/")
        return wanted in ("", "*") or path.strip("/") == wanted or path.endswith("/" + wanted)


@dataclass
class Fault:
    kind: str
    errcode: int | None = None
    errmsg: str | None = None


@dataclass
class FaultSettings:
    latency_ms: float = 0.0
    error_rate: float = 0.0
    http_500_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int | None = None
    forced: list[ForcedError] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def update(self, **values: Any) -> None:
        """Change the given settings; None leaves a setting as it is."""
        for name in ("latency_ms", "error_rate", "http_500_rate", "drop_rate"):
            value = values.pop(name, None)
            if value is not None:
                value = float(value)
                if value < 0 or (name != "latency_ms" and value > 1):
                    raise ValueError(f"{name} 超出范围: {value}")
                setattr(self, name, value)
        if "seed" in values:
            seed = values.pop("seed")
            if seed is not None:
                self.seed = int(seed)
                self.rng.seed(self.seed)
        for forced in values.pop("forced", None) or []:
            self.forced.append(forced if isinstance(forced, ForcedError) else ForcedError(**forced))
        if values:
            raise ValueError(f"未知的故障设置: {', '.join(sorted(values))}")

    def clear(self) -> None:
        self.latency_ms = self.error_rate = self.http_500_rate = self.drop_rate = 0.0
        self.forced.clear()
        if self.seed is not None:
            self.rng.seed(self.seed)

    def pick(self, path: str) -> Fault | None:
        """The fault to inflict on this call, if any (consumes forced errors and RNG draws)."""
        if self.drop_rate and self.rng.random() < self.drop_rate:
            return Fault(FAULT_DROP)
        if self.http_500_rate and self.rng.random() < self.http_500_rate:
            return Fault(FAULT_HTTP_500)
        for forced in self.forced:
            if forced.count > 0 and forced.matches(path):
                forced.count -= 1
                if forced.count == 0:
                    self.forced.remove(forced)
                return Fault(FAULT_FORCED, forced.errcode, forced.errmsg)
        if self.error_rate and self.rng.random() < self.error_rate:
            return Fault(FAULT_ERROR_RATE, -1, "system error")
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "error_rate": self.error_rate,
            "http_500_rate": self.http_500_rate,
            "drop_rate": self.drop_rate,
            "seed": self.seed,
            "forced": [asdict(forced) for forced in self.forced],
        }
