"""Prometheus metrics of the HTTP layer, the governor and the fleet, kept in a registry per app
instance."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "mc_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "mc_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


class GovernorMetrics:
    """The heartbeat governor: agents per rung (set by the acting governor each tick), ticks,
    cadence changes and config patches per outcome."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.agents = Gauge(
            "mc_governor_agents",
            "Board agents per governor rung (active, 1..n ladder steps, off, ungoverned).",
            ["rung"],
            registry=registry,
        )
        self.ticks = Counter(
            "mc_governor_ticks_total", "Governor ticks run by this process.", registry=registry
        )
        self.changes = Counter(
            "mc_governor_cadence_changes_total",
            "Agents whose heartbeat cadence the governor changed.",
            registry=registry,
        )
        self.patches = Counter(
            "mc_governor_gateway_syncs_total",
            "Governor gateway syncs by outcome (patched, unchanged, failed).",
            ["outcome"],
            registry=registry,
        )

    def set_rungs(self, counts: dict[str, int]) -> None:
        self.agents.clear()
        for rung, count in counts.items():
            self.agents.labels(rung).set(count)


class LeaderMetrics:
    """Which background jobs (reconciler, governor) this process leads: 1 while it holds the
    job's leader lock, 0 while it campaigns; set at each campaign (docs/governor.md#running-it)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.leading = Gauge(
            "mc_leader",
            "1 while this process holds the job's leader lock, else 0.",
            ["job"],
            registry=registry,
        )

    def set_leading(self, job: str, leading: bool) -> None:
        self.leading.labels(job).set(1 if leading else 0)


class FleetMetrics:
    """The fleet, set at scrape time: agents by computed status (from the database) and each
    registered gateway's connection from this process (from the gateway pool)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.agents = Gauge(
            "mc_agents",
            "Agents by computed status (online, offline, provisioning, ...), all organisations.",
            ["status"],
            registry=registry,
        )
        self.gateway_connected = Gauge(
            "mc_gateway_connected",
            "1 when this process holds a live connection to the gateway, else 0.",
            ["gateway_id", "gateway"],
            registry=registry,
        )

    def set_agents(self, counts: dict[str, int]) -> None:
        self.agents.clear()
        for status, count in counts.items():
            self.agents.labels(status).set(count)

    def set_gateways(self, states: list[tuple[str, str, bool]]) -> None:
        self.gateway_connected.clear()
        for gateway_id, name, connected in states:
            self.gateway_connected.labels(gateway_id, name).set(1 if connected else 0)
