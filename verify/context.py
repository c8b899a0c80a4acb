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
    """An AWS read failed; the message names the call and the error, ``code``
    is AWS's error code ("" for a connection error)."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


#: Error codes of a refused request: IAM, a key, bucket or secret policy
#: said no (S3 HeadBucket has no body: its code is the HTTP status).
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "403", "Forbidden"})


def assumed_clients(session, role_arn: str, default_region: str) -> Callable[..., object]:
    """``Context.client`` with the credentials of ``role_arn`` (STS
    AssumeRole, https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html);
    Unreadable when the caller may not assume it."""
    import boto3
    from botocore import exceptions as bx

    try:
        credentials = session.client("sts", region_name=default_region).assume_role(
            RoleArn=role_arn, RoleSessionName="verify", DurationSeconds=900
        )["Credentials"]
    except bx.ClientError as err:
        error = err.response.get("Error", {})
        raise Unreadable(
            f"sts AssumeRole {role_arn}: {error.get('Code', '?')} ({error.get('Message', '')})",
            error.get("Code", ""),
        ) from None
    except (bx.BotoCoreError, OSError) as err:
        raise Unreadable(f"sts AssumeRole {role_arn}: {err}") from None
    assumed = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=default_region,
    )
    return session_clients(assumed, default_region)


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
    #: The ARN of the credentials the checks run with.
    caller: str = ""
    #: role ARN -> ``client`` with that role's credentials (raises
    #: Unreadable when refused); None: no role can be assumed.
    assume: Callable[[str], Callable[..., object]] | None = None
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
                f"{service} {operation}: {error.get('Code', '?')} ({error.get('Message', '')})",
                str(error.get("Code", "")),
            ) from None
        except (bx.BotoCoreError, OSError) as err:
            raise Unreadable(f"{service} {operation}: {err}") from None

    def paginate(self, service: str, operation: str, key: str, **params) -> list:
        """Every page's ``key`` items, following NextToken, nextToken or Marker
        (IAM, RDS)."""
        items: list = []
        while True:
            page = self.call(service, operation, **params)
            items += page.get(key, [])
            name = next((n for n in ("NextToken", "nextToken", "Marker") if page.get(n)), None)
            if name is None:
                return items
            params[name] = page[name]
