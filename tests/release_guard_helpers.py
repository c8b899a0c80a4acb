"""Task definitions the release check's tests share (D55): the running
revision of a service as describe_task_definition returns it (ECS API
reference, TaskDefinition and ContainerDefinition)."""

from __future__ import annotations

DIGEST = "sha256:" + "a" * 64
OTHER_DIGEST = "sha256:" + "b" * 64
APP = "app"


def running() -> dict:
    logs = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/payment-x/api"}}
    return {
        "taskDefinitionArn": "arn:aws:ecs:eu-west-1:111122223333:task-definition/payment-x-api:7",
        "family": "payment-x-api",
        "revision": 7,
        "status": "ACTIVE",
        "registeredBy": "arn:aws:sts::111122223333:assumed-role/payment-x-release/r",
        "taskRoleArn": "arn:aws:iam::111122223333:role/payment-x-api-task",
        "executionRoleArn": "arn:aws:iam::111122223333:role/payment-x-api-execution",
        "networkMode": "awsvpc",
        "cpu": "512",
        "memory": "1024",
        "requiresCompatibilities": ["FARGATE"],
        "containerDefinitions": [
            {
                "name": APP,
                "image": f"111122223333.dkr.ecr.eu-west-1.amazonaws.com/payment-x/api@{DIGEST}",
                "user": "1000:1000",
                "privileged": False,
                "readonlyRootFilesystem": True,
                "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}],
                "environment": [
                    {"name": "PORT", "value": "8080"},
                    {"name": "RELEASE", "value": "1"},
                ],
                "logConfiguration": logs,
            },
            {
                "name": "otel-collector",
                "image": "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0",
                "user": "10001",
                "privileged": False,
                "readonlyRootFilesystem": True,
                "command": ["--config=/etc/ecs/ecs-default-config.yaml"],
                "logConfiguration": logs,
            },
        ],
    }
