"""AWS's CODE_DEPLOY contract for an ECS service, as one table.

The services tier (modules/blue_green_service.py: its
``lifecycle.ignore_changes``) and the rule that checks every synthesized
service (guardrails/rules/ecs_codedeploy_service.py, PAY-ECS-001) both
import it, so the checker does not check a table the module took from it.

Every argument of ``aws_ecs_service`` (hashicorp/aws 6.25.0) falls in
exactly one class of ``CONTRACT``, which says how the argument may change
once the service runs under the CODE_DEPLOY deployment controller:

* ``UPDATABLE`` (1): UpdateService accepts it on a CODE_DEPLOY service.
  Source: ECS API reference, UpdateService: "For services using the
  blue/green (CODE_DEPLOY) deployment controller, only the desired count,
  deployment configuration, health check grace period, task placement
  constraints and strategies, enable ECS managed tags option, and propagate
  tags can be updated using this API. If the network configuration,
  platform version, task definition, or load balancer need to be updated,
  create a new CodeDeploy deployment."
* ``CODEDEPLOY_OWNED`` (2): changes only through a CodeDeploy deployment
  (the AppSpec's ``TaskDefinition``, ``LoadBalancerInfo``,
  ``NetworkConfiguration``, ``PlatformVersion``,
  ``CapacityProviderStrategy``; ECS blue/green user guide, "AppSpec
  'resources' section for Amazon ECS deployments"). Terraform must ignore
  it: after a release it differs from the configuration (task definition,
  target group), a Terraform change would fail UpdateService, and since
  provider PR #43533 a ``capacity_provider_strategy`` change fails the plan
  unless ``force_new_deployment`` is set, which CODE_DEPLOY refuses. The
  release tool carries all of them in every AppSpec from the release
  manifest (docs/release.md).
* ``CREATE_TIME`` (3): set when the service is created. Those the provider
  marks ForceNew are replaced by Terraform when they change (the plan says
  so). ``service_registries`` and ``enable_execute_command`` are not
  ForceNew: the provider would send them to UpdateService, which refuses
  them on a CODE_DEPLOY service, so they must be ignored and change by
  re-creating the service (docs/services.md, "Create-time settings").
* ``PROVIDER_ONLY`` (4): never sent to UpdateService (tags go through
  TagResource; the rest steer the provider itself).

Arguments in ``REFUSED`` belong to the ECS (rolling or native blue/green)
controller, to features CODE_DEPLOY services do not support, or to what
Fargate (every service of this platform) rejects; setting one fails
synthesis (``wait_for_steady_state`` only when true), as does any argument
the table does not know (a newer provider's). Corrected in #23 (D46):
``deployment_controller`` changes in place since provider 6.4.0
(terraform-provider-aws #43434 and the provider's 6.4.0 CHANGELOG; the
provider source this project's search index holds predates it and still
shows ``ForceNew``, so it could not be re-read here);
``wait_for_steady_state = true`` hangs on a CODE_DEPLOY service
(terraform-provider-aws #29252: the provider's wait expects a single ECS
deployment, which a CodeDeploy task set never becomes); Fargate
rejects ``ordered_placement_strategy`` and ``placement_constraints`` (ECS
developer guide, "How Amazon ECS places tasks on container instances",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement.html:
task placement strategies and constraints are not supported for Fargate
tasks), which the table listed as updatable. docs/rules.md, the plan review
(fields CodeDeploy owns) and tools/ops/recreate_service.py read this table.
"""

from __future__ import annotations

UPDATABLE = "updatable"
CODEDEPLOY_OWNED = "codedeploy-owned"
CREATE_TIME = "create-time"
PROVIDER_ONLY = "provider-only"
CLASSES = (UPDATABLE, CODEDEPLOY_OWNED, CREATE_TIME, PROVIDER_ONLY)

#: argument -> (class, why). One row per argument of aws_ecs_service that a
#: CODE_DEPLOY service may set.
CONTRACT: dict[str, tuple[str, str]] = {
    "desired_count": (UPDATABLE, "UpdateService desiredCount; ignored anyway when autoscaled"),
    "health_check_grace_period_seconds": (UPDATABLE, "UpdateService healthCheckGracePeriodSeconds"),
    "propagate_tags": (UPDATABLE, "UpdateService propagateTags"),
    "enable_ecs_managed_tags": (UPDATABLE, "UpdateService enableECSManagedTags"),
    "deployment_controller": (
        UPDATABLE,
        "UpdateService deploymentController: changed in place since provider 6.4.0 "
        "(terraform-provider-aws #43434), no longer a replacement; a change away from "
        "CODE_DEPLOY migrates the service and PAY-ECS-002 refuses it",
    ),
    "task_definition": (
        CODEDEPLOY_OWNED,
        "AppSpec TaskDefinition; every release registers a new revision",
    ),
    "load_balancer": (
        CODEDEPLOY_OWNED,
        "AppSpec LoadBalancerInfo; the live target group alternates blue/green",
    ),
    "network_configuration": (CODEDEPLOY_OWNED, "AppSpec NetworkConfiguration.AwsvpcConfiguration"),
    "platform_version": (
        CODEDEPLOY_OWNED,
        "AppSpec PlatformVersion; ECS reports the resolved version (containers-roadmap #2840)",
    ),
    "capacity_provider_strategy": (
        CODEDEPLOY_OWNED,
        "AppSpec CapacityProviderStrategy (containers-roadmap "
        "#1752); a Terraform change fails the plan "
        "(provider PR #43533)",
    ),
    "name": (CREATE_TIME, "ForceNew in the provider: a change replaces the service"),
    "cluster": (CREATE_TIME, "ForceNew in the provider: a change replaces the service"),
    "launch_type": (CREATE_TIME, "ForceNew in the provider: a change replaces the service"),
    "scheduling_strategy": (CREATE_TIME, "ForceNew in the provider: a change replaces the service"),
    "iam_role": (CREATE_TIME, "ForceNew in the provider: a change replaces the service"),
    "region": (CREATE_TIME, "the provider re-creates a resource in another region"),
    "service_registries": (
        CREATE_TIME,
        "UpdateService refuses serviceRegistries on CODE_DEPLOY; "
        "ignored, changed by re-creating the service",
    ),
    "enable_execute_command": (
        CREATE_TIME,
        "UpdateService refuses enableExecuteCommand on "
        "CODE_DEPLOY; ignored, changed by re-creating the service",
    ),
    "tags": (PROVIDER_ONLY, "TagResource/UntagResource, not UpdateService"),
    "tags_all": (PROVIDER_ONLY, "computed by the provider from tags and default_tags"),
    "triggers": (PROVIDER_ONLY, "only feeds force_new_deployment, which CODE_DEPLOY refuses"),
    "force_delete": (PROVIDER_ONLY, "used by DeleteService only"),
    "timeouts": (PROVIDER_ONLY, "the provider's own waits"),
    "id": (PROVIDER_ONLY, "computed"),
}

#: Arguments a CODE_DEPLOY service must not set, with the fix.
REFUSED: dict[str, str] = {
    "deployment_circuit_breaker": "remove the deployment_circuit_breaker block (CodeDeploy "
    "rolls back through the deployment group's auto_rollback_configuration)",
    "alarms": "remove the alarms block (put the alarms in the deployment group's alarm_configuration)",
    "deployment_minimum_healthy_percent": "remove deployment_minimum_healthy_percent (the "
    "CodeDeploy deployment configuration decides the pace)",
    "deployment_maximum_percent": "remove deployment_maximum_percent (the CodeDeploy "
    "deployment configuration decides the pace)",
    "force_new_deployment": "remove force_new_deployment (CodeDeploy services are redeployed "
    "by creating a CodeDeploy deployment; UpdateService refuses it)",
    "deployment_configuration": "remove deployment_configuration (ECS-native rolling/blue-green "
    "strategy; this service is deployed by CodeDeploy)",
    "sigint_rollback": "remove sigint_rollback (it acts on the ECS controller's circuit breaker)",
    "service_connect_configuration": "remove service_connect_configuration (Service Connect "
    "does not support CodeDeploy blue/green)",
    "volume_configuration": "remove volume_configuration (EBS volumes on a service need the "
    "ECS deployment controller)",
    "vpc_lattice_configurations": "remove vpc_lattice_configurations (VPC Lattice on a service "
    "needs the ECS deployment controller)",
    "availability_zone_rebalancing": "remove availability_zone_rebalancing (UpdateService refuses "
    "it on a CODE_DEPLOY service)",
    "wait_for_steady_state": "remove wait_for_steady_state or set it to false (the provider's "
    "steady-state wait expects a single ECS deployment and hangs on a CODE_DEPLOY service until it "
    "times out, terraform-provider-aws #29252; releases are followed by the release tool)",
    "ordered_placement_strategy": "remove ordered_placement_strategy (every service here runs on "
    "Fargate, which supports no task placement strategies or constraints: ECS developer guide, "
    "'How Amazon ECS places tasks on container instances'; Fargate spreads tasks across "
    "Availability Zones itself)",
    "placement_constraints": "remove placement_constraints (every service here runs on Fargate, "
    "which supports no task placement strategies or constraints: ECS developer guide, 'How "
    "Amazon ECS places tasks on container instances')",
}

#: Must be in lifecycle.ignore_changes: CodeDeploy's fields, and the
#: create-time fields the provider would otherwise send to UpdateService.
MUST_IGNORE = tuple(a for a, (cls, _) in CONTRACT.items() if cls == CODEDEPLOY_OWNED) + (
    "service_registries",
    "enable_execute_command",
)
#: What the services tier ignores: MUST_IGNORE plus desired_count (autoscaling owns it).
SERVICE_IGNORED_CHANGES = MUST_IGNORE + ("desired_count",)


def fields_of_class(cls: str) -> tuple[str, ...]:
    """Arguments of one class, e.g. ``fields_of_class(CODEDEPLOY_OWNED)``."""
    if cls not in CLASSES:
        raise ValueError(f"cls: {cls!r} is not allowed; allowed: {', '.join(CLASSES)}")
    return tuple(a for a, (c, _) in CONTRACT.items() if c == cls)
