"""Which context reacts to which events. Every process that dispatches events (the API with
in-process jobs, the worker) calls register() once at start."""

from domain.events import service as events
from domain.prospects import service as prospects


def register() -> None:
    events.subscribe(events.ANY, prospects.record_activity)
