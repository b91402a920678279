"""Prometheus metrics, one registry per runtime (so tests and replicas never share one)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _PendingEffects(Collector):
    """Work recorded and not yet carried out, read from the database at scrape."""

    def __init__(
        self,
        count: Callable[[], int],
        name: str = "firebreak_slack_effects_pending",
        documentation: str = "Slack effects recorded and not yet carried out",
    ) -> None:
        self._count = count
        self._name = name
        self._documentation = documentation

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(self._name, self._documentation)
        try:
            family.add_metric([], self._count())
        except Exception:
            return
        yield family


class _OpenIncidents(Collector):
    """Read at scrape time, so every replica reports the shared database's truth."""

    def __init__(self, count: Callable[[], dict[str, int]]) -> None:
        self._count = count

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "firebreak_open_incidents", "Open incidents by severity", labels=["severity"]
        )
        try:
            counts = self._count()
        except Exception:
            counts = {}
        for severity, number in sorted(counts.items()):
            family.add_metric([severity], number)
        yield family


class ListenerPool(Protocol):
    @property
    def queued(self) -> int: ...
    @property
    def busy(self) -> int: ...
    @property
    def working(self) -> int: ...
    @property
    def waiting_for_work_slot(self) -> int: ...


class _Listeners(Collector):
    """The listener pool's queue, threads and work slots, read at scrape time."""

    def __init__(self, pool: ListenerPool) -> None:
        self._pool = pool

    def collect(self) -> Iterable[Metric]:
        gauges = (
            (
                "firebreak_listener_queue_depth",
                "Slack requests accepted and waiting for a listener thread",
                self._pool.queued,
            ),
            (
                "firebreak_listener_busy_threads",
                "Listener threads running a request (its ack and the work after it)",
                self._pool.busy,
            ),
            (
                "firebreak_listener_busy_workers",
                "Listeners past their ack doing their work (holding a work slot)",
                self._pool.working,
            ),
            (
                "firebreak_listener_waiting_for_worker",
                "Listeners past their ack waiting for a work slot",
                self._pool.waiting_for_work_slot,
            ),
        )
        for name, documentation, value in gauges:
            yield GaugeMetricFamily(name, documentation, value=value)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "firebreak_requests",
            "Slack requests handled, by listener and outcome",
            ["listener", "outcome"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "firebreak_request_seconds",
            "Time to answer a Slack request (until ack), by listener",
            ["listener"],
            registry=self.registry,
        )
        self.slack_calls = Counter(
            "firebreak_slack_api_calls",
            "Slack Web API calls by method",
            ["method"],
            registry=self.registry,
        )
        self.slack_errors = Counter(
            "firebreak_slack_api_errors",
            "Slack Web API calls that failed, by method and error",
            ["method", "error"],
            registry=self.registry,
        )
        self.slack_seconds = Histogram(
            "firebreak_slack_api_seconds",
            "Slack Web API call time, retries included, by method",
            ["method"],
            registry=self.registry,
        )
        self.listener_errors = Counter(
            "firebreak_listener_errors",
            "Unhandled exceptions in listeners and middleware (each is a bug)",
            registry=self.registry,
        )
        self.reminders_sent = Counter(
            "firebreak_reminders_sent",
            "Stakeholder-update reminders sent",
            registry=self.registry,
        )

        self.slack_effects = Counter(
            "firebreak_slack_effects",
            "Slack effects of committed changes by kind and outcome (done, retried, failed)",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.integration_calls = Counter(
            "firebreak_integration_calls",
            "Calls to PagerDuty, Jira and Statuspage by service, call and outcome "
            "(done, retried, failed)",
            ["service", "call", "outcome"],
            registry=self.registry,
        )
        self.reconcile_repairs = Counter(
            "firebreak_reconcile_repairs",
            "Slack surfaces found out of date with the database and redrawn, by surface",
            ["surface"],
            registry=self.registry,
        )

    def watch_open_incidents(self, count: Callable[[], dict[str, int]]) -> None:
        self.registry.register(_OpenIncidents(count))

    def watch_listeners(self, pool: ListenerPool) -> None:
        self.registry.register(_Listeners(pool))

    def watch_pending_effects(self, count: Callable[[], int]) -> None:
        self.registry.register(_PendingEffects(count))

    def watch_pending_calls(self, count: Callable[[], int]) -> None:
        self.registry.register(
            _PendingEffects(
                count,
                "firebreak_integration_calls_pending",
                "Calls to outside services recorded and not yet carried out",
            )
        )

    def observe_slack_call(self, method: str, error: str | None, seconds: float) -> None:
        """The gateway's `observer` hook."""
        self.slack_calls.labels(method).inc()
        self.slack_seconds.labels(method).observe(seconds)
        if error:
            self.slack_errors.labels(method, error).inc()

    def observe_request(self, listener: str, outcome: str, seconds: float) -> None:
        self.requests.labels(listener, outcome).inc()
        self.request_seconds.labels(listener).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def listener_label(body: Any, known: frozenset[str]) -> str:
    """A bounded name for what a request is: command, action id, view callback, event type.

    Only names in `known` become labels (anything else is `<kind>:other`), so the number
    of series stays fixed whatever a sender puts in a body.
    """
    if not isinstance(body, dict):
        return "malformed"
    kind = body.get("type")
    if isinstance(body.get("command"), str):
        return _bounded("command", body["command"], known)
    if kind == "block_actions" and isinstance(body.get("actions"), list) and body["actions"]:
        first = body["actions"][0]
        action_id = first.get("action_id") if isinstance(first, dict) else None
        return _bounded("action", str(action_id).split(":", 1)[0], known)
    if kind in ("view_submission", "view_closed") and isinstance(body.get("view"), dict):
        return _bounded("view", str(body["view"].get("callback_id")), known)
    if kind == "event_callback" and isinstance(body.get("event"), dict):
        return _bounded("event", str(body["event"].get("type")), known)
    return "other"


def _bounded(kind: str, name: str, known: frozenset[str]) -> str:
    return f"{kind}:{name if name in known else 'other'}"
