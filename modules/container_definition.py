"""The containers of a service's task: the app and the tracing sidecar.

Like terraform-aws-ecs's ``modules/container-definition``, the container
definition is its own unit: ``container_definitions(props)`` returns the
JSON-ready list a task definition's ``container_definitions`` takes, and
creates no resource. Secure defaults for every container: non-root user,
not privileged, read-only root filesystem (writable task-local volumes
only where a process must write), logs to the service's log group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from config.model import ServiceConfig
from config.naming import TRACING_CONTAINER, app_container_name

#: AWS Distro for OpenTelemetry collector, pinned (upstream image
#: public.ecr.aws/aws-observability/aws-otel-collector, pulled through the
#: environment's ECR pull-through cache so tasks need no internet egress).
TRACING_IMAGE_REPOSITORY = "aws-observability/aws-otel-collector"
TRACING_IMAGE_VERSION = "v0.45.1"
#: Built into the collector image: OTLP in (4317 gRPC, 4318 HTTP), X-Ray out.
TRACING_CONFIG = "/etc/ecs/ecs-xray.yaml"
#: Non-root users the containers run as (the app image must allow it).
APP_USER = "1000:1000"
TRACING_USER = "10001:10001"

#: Writable task-local volumes of the app container: ``/tmp`` always; the
#: ECS Exec (SSM) agent's state and log directories when ECS Exec is on,
#: since the agent cannot start on a read-only root filesystem otherwise
#: (containers-roadmap #1359).
SCRATCH_VOLUMES = {"tmp": "/tmp"}
EXEC_AGENT_VOLUMES = {"ssm-agent-state": "/var/lib/amazon", "ssm-agent-logs": "/var/log/amazon"}


def secret_variable(secret: str) -> str:
    """Environment variable a secret is injected as: ``api-keys`` -> ``API_KEYS``."""
    return secret.upper().replace("-", "_")


def image_reference(repository_url: str, tag: str) -> str:
    """``repo:tag``, or ``repo@sha256:...`` when the tag is a digest."""
    return f"{repository_url}@{tag}" if tag.startswith("sha256:") else f"{repository_url}:{tag}"


def writable_volumes(service: ServiceConfig) -> dict[str, str]:
    """Volume name -> path of the app container's writable directories (the
    task definition declares one task-local volume per name)."""
    volumes = dict(SCRATCH_VOLUMES)
    if service.enable_execute_command:
        volumes.update(EXEC_AGENT_VOLUMES)
    return volumes


@dataclass(frozen=True, kw_only=True)
class DatabaseConnection:
    """How the app reaches the database: ``DB_*`` variables, IAM authentication
    as ``user`` (no password anywhere)."""

    host: str
    port: int
    name: str
    user: str


@dataclass(frozen=True, kw_only=True)
class ContainerDefinitionProps:
    """Inputs of the two containers of one service.

    ``service``: its configuration (port, health check, secrets, ECS Exec).
    ``environment_name``/``region``: where it runs. ``image``: the app image
    reference (``image_reference``). ``collector_image``: the tracing
    collector's image reference. ``log_group_name``: the service's log group
    (both containers write to it, stream prefixes ``app`` and ``otel``).
    ``namespace_name``: the Cloud Map namespace, given to the app.
    ``secret_arns``: secret name -> ARN of every secret the service lists,
    injected as ``secrets`` (never plain environment).
    ``internal_service_urls``: service name -> base URL behind the internal
    ALB, given as ``<NAME>_URL`` (the service's own is left out); left out:
    none. ``database``: left out for a service without database access (no
    ``DB_*`` variables).
    """

    service: ServiceConfig
    environment_name: str
    region: str
    image: str
    collector_image: str
    log_group_name: str
    namespace_name: str
    secret_arns: Mapping[str, str]
    internal_service_urls: Mapping[str, str] = field(default_factory=dict)
    database: DatabaseConnection | None = None


def container_definitions(props: ContainerDefinitionProps) -> list[dict]:
    """The app container and the tracing sidecar (JSON-ready)."""
    svc = props.service

    def logs(stream_prefix: str) -> dict:
        return {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": props.log_group_name,
                "awslogs-region": props.region,
                "awslogs-stream-prefix": stream_prefix,
            },
        }

    environment = {
        "SERVICE_NAME": svc.name,
        "ENVIRONMENT": props.environment_name,
        "PORT": str(svc.port),
        "SERVICE_DISCOVERY_NAMESPACE": props.namespace_name,
        "OTEL_SERVICE_NAME": svc.name,
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4317",
    }
    # Calls to other services go through the internal ALB, so they follow a
    # release's traffic shift (modules/callers_security_group.py).
    environment.update(
        {
            f"{secret_variable(name)}_URL": url
            for name, url in props.internal_service_urls.items()
            if name != svc.name
        }
    )
    db = props.database
    if db is not None:
        environment.update(
            {
                "DB_HOST": db.host,
                "DB_PORT": str(db.port),
                "DB_NAME": db.name,
                "DB_USER": db.user,
                "DB_IAM_AUTH": "true",
            }
        )
    app = {
        "name": app_container_name(svc),
        "image": props.image,
        "essential": True,
        "user": APP_USER,
        "privileged": False,
        "readonlyRootFilesystem": True,
        "portMappings": [
            {"name": "http", "containerPort": svc.port, "hostPort": svc.port, "protocol": "tcp"}
        ],
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        "secrets": [
            {"name": secret_variable(s), "valueFrom": props.secret_arns[s]} for s in svc.secrets
        ],
        "healthCheck": {
            "command": [
                "CMD-SHELL",
                f"curl -fsS http://localhost:{svc.port}{svc.health_check_path} || exit 1",
            ],
            "interval": 15,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 60,
        },
        "mountPoints": [
            {"sourceVolume": name, "containerPath": path, "readOnly": False}
            for name, path in writable_volumes(svc).items()
        ],
        # An init process reaps zombies, which ECS Exec sessions leave behind.
        "linuxParameters": {"initProcessEnabled": True},
        "dependsOn": [{"containerName": TRACING_CONTAINER, "condition": "START"}],
        "stopTimeout": 30,
        "logConfiguration": logs("app"),
    }
    collector = {
        "name": TRACING_CONTAINER,
        "image": props.collector_image,
        # Losing traces must not stop payments.
        "essential": False,
        "user": TRACING_USER,
        "privileged": False,
        "readonlyRootFilesystem": True,
        "command": [f"--config={TRACING_CONFIG}"],
        "healthCheck": {
            "command": ["/healthcheck"],
            "interval": 30,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 10,
        },
        "memoryReservation": 64,
        "logConfiguration": logs("otel"),
    }
    return [app, collector]
