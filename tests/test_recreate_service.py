"""The create-time settings procedure (tools/recreate_service.py): the
commands it prints name the real addresses of the service and its two
listener rules in the synthesized services stack. The commands are pinned
for the example's prod (tests/fixtures/example.py, as docs/services.md shows
them); what the tool relies on is checked in every configured environment."""

from __future__ import annotations

import re

import pytest

from guardrails.rules.ecs_codedeploy_service import CREATE_TIME, MUST_IGNORE, fields_of_class
from tools.recreate_service import main


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
