"""The release tool against the synthesized services stacks.

The tool finds resources either through ``config/naming.py`` or through the
``release_manifest`` output; both must point at what Terraform creates. Here
the output of every environment's synthesized services stack is resolved to
the literal names of the resources it references (what ``terraform output
-json`` prints after apply; ids known only after apply become fake ids, one
per resource), fed to a dry run, and compared with the names from the naming
convention, with the ECS service/task definition the deployment will act on,
and with what the EC2 lookup of config mode finds by name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re

import pytest

from config import load_environments
from config.naming import TASK_ASSIGN_PUBLIC_IP
from release.cli import main
from release.errors import EXIT_OK
from release.target import target_from_config, target_from_outputs

ACCOUNT = "111111111111"
ENV_SERVICES = [(env.name, svc.name) for env in load_environments() for svc in env.services]
_REFERENCE = re.compile(r"^\$\{(aws_[a-z0-9_]+)\.([^.}]+)\.([a-z_]+)\}$")
_REMOTE_OUTPUT = re.compile(
    r"^\$\{data\.terraform_remote_state\.cross-stack-reference-input-([^.}]+)\.outputs\.([^.}]+)\}$"
)
# Resource ids AWS assigns at apply: a fake id per resource stands in.
_ID_PREFIXES = {"aws_security_group": "sg", "aws_subnet": "subnet", "aws_vpc": "vpc"}


class AppliedValues:
    """Resolves references in a synthesized stack to what apply would give."""

    def __init__(self, stacks, region: str):
        self.stacks, self.region = stacks, region

    @staticmethod
    def fake_id(stack, rtype: str, key: str) -> str:
        digest = hashlib.sha256(f"{stack.name}/{rtype}.{key}".encode()).hexdigest()
        return f"{_ID_PREFIXES[rtype]}-{digest[:17]}"

    def resolve(self, stack, value):
        if isinstance(value, dict):
            return {k: self.resolve(stack, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(stack, v) for v in value]
        if not isinstance(value, str) or not value.startswith("${"):
            return value
        remote = _REMOTE_OUTPUT.match(value)
        if remote:
            upstream = self.stacks[remote.group(1)]
            return self.resolve(upstream, upstream.json["output"][remote.group(2)]["value"])
        match = _REFERENCE.match(value)
        assert match, f"unexpected reference in {stack.name}: {value}"
        rtype, key, attr = match.groups()
        resource = stack.resources(rtype)[key]
        if (rtype, attr) == ("aws_ecr_repository", "repository_url"):
            # Known only after apply: account + region + name.
            return f"{ACCOUNT}.dkr.ecr.{self.region}.amazonaws.com/{resource['name']}"
        if attr == "id" and rtype in _ID_PREFIXES:
            return self.fake_id(stack, rtype, key)
        assert attr in resource, f"{rtype}.{key} has no literal {attr}"
        return resource[attr]

    def outputs(self, stack) -> dict:
        """What `terraform output -json` would print for the stack after apply."""
        return {
            name: {
                "value": self.resolve(stack, output["value"])
                if name == "release_manifest"
                else output["value"],
                "type": "any",
                "sensitive": False,
            }
            for name, output in stack.json["output"].items()
        }


def _by_name(resources: dict, key: str, name: str) -> dict:
    (found,) = [r for r in resources.values() if r.get(key) == name]
    return found


@pytest.mark.parametrize(
    ("env_name", "service"), ENV_SERVICES, ids=[f"{e}-{s}" for e, s in ENV_SERVICES]
)
def test_dry_run_from_synthesized_outputs_matches_naming_and_resources(
    stacks, environments, tmp_path, env_name, service
):
    env = environments[env_name]
    stack = stacks[f"{env.prefix}-services"]
    applied = AppliedValues(stacks, env.region)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(applied.outputs(stack)))

    from_outputs = target_from_outputs(env, service, outputs)
    from_naming = target_from_config(env, service)
    # Config mode knows no network ids (it looks them up) and knows the
    # repository URL only when the account id is configured.
    assert (
        dataclasses.replace(
            from_outputs,
            source=from_naming.source,
            ecr_repository_url=from_naming.ecr_repository_url,
            network_configuration=None,
        )
        == from_naming
    )
    if env.account_id:
        assert from_naming.ecr_repository_url == (
            f"{env.account_id}.dkr.ecr.{env.region}.amazonaws.com/{from_naming.ecr_repository_name}"
        )

    out, err = io.StringIO(), io.StringIO()
    code = main(
        [
            "--env",
            env_name,
            "--service",
            service,
            "--image-tag",
            "v1.0.0",
            "--outputs",
            str(outputs),
            "--dry-run",
        ],
        out=out,
        err=err,
    )
    assert (code, err.getvalue()) == (EXIT_OK, "")
    text = out.getvalue()
    props = json.loads(text[text.index("\n{") + 1 :])["Resources"][0]["TargetService"]["Properties"]

    # The deployment acts on the service Terraform creates, with its contract.
    ecs_service = _by_name(stack.resources("aws_ecs_service"), "name", from_outputs.ecs_service)
    assert ecs_service["deployment_controller"] == {"type": "CODE_DEPLOY"}
    assert [
        {"ContainerName": lb["container_name"], "ContainerPort": lb["container_port"]}
        for lb in ecs_service["load_balancer"]
    ] == [props["LoadBalancerInfo"]]
    # The AppSpec repeats the network configuration and platform version the
    # service is created with (ignored on it afterwards: CodeDeploy owns them).
    assert (
        props["PlatformVersion"]
        == ecs_service["platform_version"]
        == env.service(service).platform_version
    )
    created = applied.resolve(stack, ecs_service["network_configuration"])
    created = created[0] if isinstance(created, list) else created
    assert props["NetworkConfiguration"] == {
        "AwsvpcConfiguration": {
            "Subnets": created["subnets"],
            "SecurityGroups": created["security_groups"],
            "AssignPublicIp": "ENABLED" if created["assign_public_ip"] else "DISABLED",
        }
    }
    assert props["NetworkConfiguration"] == from_outputs.network_configuration.appspec()
    assert [
        {
            "Base": s.get("base", 0),
            "CapacityProvider": s["capacity_provider"],
            "Weight": s.get("weight", 0),
        }
        for s in ecs_service["capacity_provider_strategy"]
    ] == props["CapacityProviderStrategy"]
    # The pre-flight check wants the group to deploy exactly this cluster/service.
    group = _by_name(
        stack.resources("aws_codedeploy_deployment_group"),
        "deployment_group_name",
        from_outputs.deployment_group,
    )
    assert applied.resolve(stack, group["app_name"]) == from_outputs.codedeploy_application
    ecs_target = group["ecs_service"]
    ecs_target = ecs_target[0] if isinstance(ecs_target, list) else ecs_target
    assert (
        applied.resolve(stack, ecs_target["cluster_name"]),
        applied.resolve(stack, ecs_target["service_name"]),
    ) == (from_outputs.cluster, from_outputs.ecs_service)
    assert group["deployment_config_name"] == env.deployment.config_name
    # The pre-flight check needs the app container with the target group port.
    task_definition = _by_name(
        stack.resources("aws_ecs_task_definition"), "family", from_outputs.task_family
    )
    containers = {c["name"]: c for c in json.loads(task_definition["container_definitions"])}
    app = containers[props["LoadBalancerInfo"]["ContainerName"]]
    assert props["LoadBalancerInfo"]["ContainerPort"] in [
        m["containerPort"] for m in app["portMappings"]
    ]
    # Pinned by digest by default; the digest is read from ECR at release time.
    assert f"{from_outputs.ecr_repository_url}@<digest of the image>" in text


@pytest.mark.parametrize(
    ("env_name", "service"), ENV_SERVICES, ids=[f"{e}-{s}" for e, s in ENV_SERVICES]
)
def test_network_lookup_by_name_finds_what_the_manifest_names(
    stacks, environments, env_name, service
):
    """Config mode's EC2 lookup (VPC by Name tag, its subnets by tier tag, the
    groups by name) selects exactly the ids the release manifest carries."""
    env = environments[env_name]
    stack = stacks[f"{env.prefix}-services"]
    network_stack = stacks[f"{env.prefix}-network"]
    applied = AppliedValues(stacks, env.region)
    manifest = applied.resolve(stack, stack.json["output"]["release_manifest"]["value"])
    network = manifest[service]["network_configuration"]
    lookup = target_from_config(env, service).network_lookup

    (vpc_key,) = [
        key
        for key, vpc in network_stack.resources("aws_vpc").items()
        if vpc.get("tags", {}).get("Name") == lookup.vpc_name
    ]
    vpc_id = applied.fake_id(network_stack, "aws_vpc", vpc_key)
    task_subnets = [
        applied.fake_id(network_stack, "aws_subnet", key)
        for key, subnet in network_stack.resources("aws_subnet").items()
        if subnet.get("tags", {}).get("tier") == lookup.subnet_tier
        and applied.resolve(network_stack, subnet["vpc_id"]) == vpc_id
    ]
    assert task_subnets and set(network["subnets"]) == set(task_subnets)

    groups = {
        applied.fake_id(stack, "aws_security_group", key): group
        for key, group in stack.resources("aws_security_group").items()
    }
    assert (
        tuple(groups[i]["name"] for i in network["security_groups"]) == lookup.security_group_names
    )
    assert all(
        applied.resolve(stack, groups[i]["vpc_id"]) == vpc_id for i in network["security_groups"]
    )
    assert network["assign_public_ip"] == lookup.assign_public_ip == TASK_ASSIGN_PUBLIC_IP
