"""What every check gets: the environment, the expected values, AWS clients."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from config import EnvironmentConfig
from verify.expected import Synthesized


def session_clients(session, default_region: str) -> Callable[..., object]:
    """``Context.client`` for a boto3 session: one client per service and
    region (None: ``default_region``), made on first use."""
    clients: dict[tuple[str, str], object] = {}

    def client(name: str, region: str | None = None):
        where = region or default_region
        if (name, where) not in clients:
            clients[name, where] = session.client(name, region_name=where)
        return clients[name, where]

    return client


class Unreadable(Exception):
    """An AWS read failed; the message names the call and the error."""


@dataclass
class Context:
    env: EnvironmentConfig
    synth: Synthesized
    #: (service name, region or None for the environment's) -> boto3 client
    client: Callable[..., object]
    account: str
    partition: str
    now: datetime
    #: Window of GetMetricData for the rollback alarms' datapoints.
    datapoints_minutes: int = 180
    #: The newest ALB access-log object must be younger than this.
    access_log_max_age_minutes: int = 60
    _cache: dict = field(default_factory=dict)

    @property
    def region(self) -> str:
        return self.env.region

    def call(self, service: str, operation: str, *, region: str | None = None, **params):
        """One read (in ``region``; None: the environment's); any AWS or
        connection error becomes ``Unreadable``."""
        from botocore import exceptions as bx

        client = (
            self.client(service) if region in (None, self.region) else self.client(service, region)
        )
        try:
            return getattr(client, operation)(**params)
        except bx.ClientError as err:
            error = err.response.get("Error", {})
            raise Unreadable(
                f"{service} {operation}: {error.get('Code', '?')} ({error.get('Message', '')})"
            ) from None
        except (bx.BotoCoreError, OSError) as err:
            raise Unreadable(f"{service} {operation}: {err}") from None

    def paginate(self, service: str, operation: str, key: str, **params) -> list:
        """Every page's ``key`` items, following NextToken or nextToken."""
        items: list = []
        while True:
            page = self.call(service, operation, **params)
            items += page.get(key, [])
            name = next((n for n in ("NextToken", "nextToken") if page.get(n)), None)
            if name is None:
                return items
            params[name] = page[name]
