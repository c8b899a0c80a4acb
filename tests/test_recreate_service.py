"""The create-time settings procedure (tools/ops/recreate_service.py): the
commands it prints name the real addresses of the service and its two
listener rules in the synthesized services stack. The commands are pinned
for the example's prod (tests/fixtures/example.py, as docs/services.md shows
them); what the tool relies on is checked in every configured environment."""

from __future__ import annotations

import re

import pytest

from config.codedeploy_contract import CREATE_TIME, MUST_IGNORE, fields_of_class
from tools.ops.recreate_service import main


def test_prints_plan_and_apply_replacing_the_service_and_its_rules(
    example_synth_outdir, example_stacks, capsys
):
    outdir, _ = example_synth_outdir
    assert main(["--env", "prod", "--service", "payment-api", "--outdir", str(outdir)]) == 0
    out = capsys.readouterr().out
    replaced = re.findall(r"-replace='([^']+)'", out)
    stack = example_stacks["payment-prod-services"].json
    paths = {}
    for address in replaced:
        rtype, name = address.split(".", 1)
        paths[rtype + ":" + stack["resource"][rtype][name]["//"]["metadata"]["path"]] = address
    assert sorted(paths) == sorted(
        [
            "aws_lb_listener_rule:payment-prod-services/service-payment-api/production-rule",
            "aws_lb_listener_rule:payment-prod-services/service-payment-api/test-rule",
            "aws_ecs_service:payment-prod-services/service-payment-api/service",
        ]
    )
    assert (
        "terraform -chdir=cdktf.out/stacks/payment-prod-services plan -out=recreate.tfplan" in out
    )
    assert "terraform -chdir=cdktf.out/stacks/payment-prod-services apply recreate.tfplan" in out
    assert ".venv/bin/python -m release --env prod --service payment-api --image-tag" in out


def test_the_settings_it_is_for_are_ignored_by_the_service(svc_stack, env):
    """It exists because the non-ForceNew create-time settings are ignored."""
    create_time_ignored = set(fields_of_class(CREATE_TIME)) & set(MUST_IGNORE)
    assert create_time_ignored == {"service_registries", "enable_execute_command"}
    services = svc_stack.json["resource"]["aws_ecs_service"]
    assert len(services) == len(env.services)
    for service in services.values():
        assert create_time_ignored <= set(service["lifecycle"]["ignore_changes"])


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--env", "prod", "--service", "payment-apj"],
            "--service: 'payment-apj' is not a service of payment-prod-services; allowed: "
            "notification-service, payment-api, transaction-processor",
        ),
        (
            ["--env", "qa", "--service", "payment-api"],
            "--env: 'qa' has no synthesized services stack",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(example_synth_outdir, capsys, argv, message):
    outdir, _ = example_synth_outdir
    assert main([*argv, "--outdir", str(outdir)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_unreadable_stack_is_refused(tmp_path, capsys):
    stack_dir = tmp_path / "stacks" / "payment-dev-services"
    stack_dir.mkdir(parents=True)
    (stack_dir / "cdk.tf.json").write_text("{not json")
    assert main(["--env", "dev", "--service", "payment-api", "--outdir", str(tmp_path)]) == 2
    assert "not readable JSON" in capsys.readouterr().err


def _printed(outdir, *extra) -> list[str]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert (
            main(["--env", "prod", "--service", "payment-api", "--outdir", str(outdir), *extra])
            == 0
        )
    return out.getvalue().splitlines()


def test_checks_for_an_active_deployment_and_blues_wait_first(
    example_synth_outdir, example_environments
):
    """Step 0, read-only: CodeDeploy keeps an ECS blue/green deployment
    InProgress until the original task set is terminated, so no deployment
    in Created..Ready also means blue's termination wait is over; one task
    set confirms it."""
    from config.naming import cluster_name, codedeploy_application_name, deployment_group_name

    env = example_environments["prod"]
    svc = next(s for s in env.services if s.name == "payment-api")
    lines = _printed(example_synth_outdir[0])
    first_terraform = next(i for i, line in enumerate(lines) if line.startswith("terraform"))
    deployments = next(i for i, line in enumerate(lines) if "aws deploy list-deployments" in line)
    assert deployments < first_terraform
    assert (
        f"--application-name {codedeploy_application_name(env)} "
        f"--deployment-group-name {deployment_group_name(env, svc)} "
        "--include-only-statuses Created Queued InProgress Baking Ready"
    ) in lines[deployments]
    task_sets = lines[deployments + 1]
    assert task_sets == (
        f"aws ecs describe-services --cluster {cluster_name(env)} --services payment-api "
        "--query 'length(services[0].taskSets)'"
    )


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        (
            "1.dkr.ecr.eu-west-1.amazonaws.com/payment-prod-payment-api@sha256:" + "a" * 64,
            "sha256:" + "a" * 64,
        ),
        (
            "1.dkr.ecr.eu-west-1.amazonaws.com/payment-prod-payment-api:release-prod-42",
            "release-prod-42",
        ),
    ],
)
def test_step_1_starts_the_new_service_from_the_running_task_definition_and_scale(
    example_synth_outdir, example_stacks, tmp_path, image, tag
):
    """The printed step 1, run by sh against a stand-in aws CLI, writes an
    override that Terraform merges into the service (the running task
    definition, the scaled desired count) and prints the tag step 3 releases."""
    import json
    import shutil
    import subprocess

    lines = _printed(example_synth_outdir[0])
    start = next(i for i, line in enumerate(lines) if line.startswith("# 1."))
    end = next(i for i, line in enumerate(lines) if line.startswith("# 2."))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    arn = "arn:aws:ecs:eu-west-1:1:task-definition/payment-prod-payment-api:42"
    aws = bin_dir / "aws"
    aws.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        f"  *taskDefinition\\ --output*) echo '{arn}';;\n"
        "  *desiredCount*) echo 7;;\n"
        f"  *describe-task-definition*) echo '{image}';;\n"
        "  *) exit 9;;\n"
        "esac\n"
    )
    aws.chmod(0o755)
    stack_dir = tmp_path / "cdktf.out" / "stacks" / "payment-prod-services"
    stack_dir.mkdir(parents=True)
    done = subprocess.run(
        [shutil.which("sh"), "-euc", "\n".join(lines[start:end])],
        cwd=tmp_path,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == f"re-release tag: {tag}"
    override = json.loads((stack_dir / "recreate_override.tf.json").read_text())
    services = example_stacks["payment-prod-services"].json["resource"]["aws_ecs_service"]
    ((name, body),) = override["resource"]["aws_ecs_service"].items()
    assert name in services and services[name]["name"] == "payment-api"
    assert body == {"task_definition": arn, "desired_count": 7}
    assert lines[-1].endswith('--image-tag "$TAG"')
    assert any(
        line.startswith("rm cdktf.out/stacks/payment-prod-services/recreate_override")
        for line in lines
    )


def test_with_target_groups_replaces_both_as_well(example_synth_outdir, example_stacks):
    stack = example_stacks["payment-prod-services"].json

    def replaced(*extra):
        found = re.findall(
            r"-replace='([^']+)'", "\n".join(_printed(example_synth_outdir[0], *extra))
        )
        return {
            stack["resource"][a.split(".", 1)[0]][a.split(".", 1)[1]]["//"]["metadata"]["path"]
            for a in found
        }

    groups = {
        f"payment-prod-services/service-payment-api/{colour}-target-group"
        for colour in ("blue", "green")
    }
    assert not replaced() & groups
    assert replaced("--with-target-groups") == replaced() | groups
