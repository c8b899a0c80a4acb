"""The release tool against the synthesized services stacks.

The tool finds resources either through ``config/naming.py`` or through the
``release_manifest`` output; both must point at what Terraform creates. Here
the output of every environment's synthesized services stack is resolved to
the literal names of the resources it references (what ``terraform output
-json`` prints after apply), fed to a dry run, and compared with the names
from the naming convention and with the ECS service/task definition the
deployment will act on.
"""
from __future__ import annotations

import dataclasses
import io
import json
import re

import pytest

from config import load_environments
from release.cli import main
from release.errors import EXIT_OK
from release.target import target_from_config, target_from_outputs

ACCOUNT = "111111111111"
ENV_SERVICES = [(env.name, svc.name) for env in load_environments() for svc in env.services]
_REFERENCE = re.compile(r"^\$\{(aws_[a-z0-9_]+)\.([^.}]+)\.([a-z_]+)\}$")


def _literal(stack, value, region: str):
    """A ``${type.key.attr}`` reference -> the attribute's value in the stack."""
    if not isinstance(value, str) or not value.startswith("${"):
        return value
    match = _REFERENCE.match(value)
    assert match, f"unexpected reference in release_manifest: {value}"
    rtype, key, attr = match.groups()
    resource = stack.resources(rtype)[key]
    if (rtype, attr) == ("aws_ecr_repository", "repository_url"):
        # Known only after apply: account + region + name.
        return f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{resource['name']}"
    assert attr in resource, f"{rtype}.{key} has no literal {attr}"
    return resource[attr]


def _applied_outputs(stack, region: str) -> dict:
    """What `terraform output -json` would print for the stack after apply."""
    outputs = {}
    for name, output in stack.json["output"].items():
        value = output["value"]
        if name == "release_manifest":
            value = {svc: {k: _literal(stack, v, region) for k, v in entry.items()}
                     for svc, entry in value.items()}
        outputs[name] = {"value": value, "type": "any", "sensitive": False}
    return outputs


def _by_name(resources: dict, key: str, name: str) -> dict:
    (found,) = [r for r in resources.values() if r.get(key) == name]
    return found


@pytest.mark.parametrize(("env_name", "service"), ENV_SERVICES,
                         ids=[f"{e}-{s}" for e, s in ENV_SERVICES])
def test_dry_run_from_synthesized_outputs_matches_naming_and_resources(
        stacks, environments, tmp_path, env_name, service):
    env = environments[env_name]
    stack = stacks[f"{env.prefix}-services"]
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(_applied_outputs(stack, env.region)))

    from_outputs = target_from_outputs(env, service, outputs)
    from_naming = target_from_config(env, service)
    assert dataclasses.replace(from_outputs, source=from_naming.source,
                               ecr_repository_url=None) == from_naming

    out, err = io.StringIO(), io.StringIO()
    code = main(["--env", env_name, "--service", service, "--image-tag", "v1.0.0",
                 "--outputs", str(outputs), "--dry-run"], out=out, err=err)
    assert (code, err.getvalue()) == (EXIT_OK, "")
    text = out.getvalue()
    props = json.loads(text[text.index("\n{") + 1:])["Resources"][0]["TargetService"]["Properties"]

    # The deployment acts on the service Terraform creates, with its contract.
    ecs_service = _by_name(stack.resources("aws_ecs_service"), "name", from_outputs.ecs_service)
    assert ecs_service["deployment_controller"] == {"type": "CODE_DEPLOY"}
    assert [{"ContainerName": lb["container_name"], "ContainerPort": lb["container_port"]}
            for lb in ecs_service["load_balancer"]] == [props["LoadBalancerInfo"]]
    assert [{"Base": s.get("base", 0), "CapacityProvider": s["capacity_provider"],
             "Weight": s.get("weight", 0)}
            for s in ecs_service["capacity_provider_strategy"]] == props["CapacityProviderStrategy"]
    # The pre-flight check wants the group to deploy exactly this cluster/service.
    group = _by_name(stack.resources("aws_codedeploy_deployment_group"),
                     "deployment_group_name", from_outputs.deployment_group)
    assert _literal(stack, group["app_name"], env.region) == from_outputs.codedeploy_application
    ecs_target = group["ecs_service"]
    ecs_target = ecs_target[0] if isinstance(ecs_target, list) else ecs_target
    assert (_literal(stack, ecs_target["cluster_name"], env.region),
            _literal(stack, ecs_target["service_name"], env.region)) == (
        from_outputs.cluster, from_outputs.ecs_service)
    assert group["deployment_config_name"] == env.deployment.config_name
    # The pre-flight check needs the app container with the target group port.
    task_definition = _by_name(stack.resources("aws_ecs_task_definition"), "family",
                               from_outputs.task_family)
    containers = {c["name"]: c for c in json.loads(task_definition["container_definitions"])}
    app = containers[props["LoadBalancerInfo"]["ContainerName"]]
    assert props["LoadBalancerInfo"]["ContainerPort"] in [
        m["containerPort"] for m in app["portMappings"]]
    assert f"{from_outputs.ecr_repository_url}:v1.0.0" in text
