"""tools/review/plan_review.py on plans in Terraform's JSON output format, built
from our own synthesized stacks (real addresses and types; tests/plan_json.py).

One test per flag, a clean plan, unreadable inputs, and that the tier, not
the environment's name, decides what blocks. A clean plan of every stack and
the tiers hold for the configuration under test; the flags, which need
particular stacks, names and tiers, are shown on the example's stacks, with
the tool reading the example's configuration (``PAYMENT_CONFIG``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plan_json import PlanBuilder
from tools.review import plan_review
from tools.review.plan_review import BLOCKED, OK, UNREADABLE

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def example(example_stacks, monkeypatch):
    """The example's stacks; tools/review/plan_review.py (in this process and the
    commands it starts) reads the example's tiers."""
    monkeypatch.setenv("PAYMENT_CONFIG", "tests.fixtures.example")
    return example_stacks


def builder(stacks, name: str, **kwargs) -> PlanBuilder:
    return PlanBuilder(stacks[name].json, **kwargs)


def write(tmp_path: Path, *plans: PlanBuilder | dict) -> list[str]:
    paths = []
    for index, plan in enumerate(plans):
        document = plan.build() if isinstance(plan, PlanBuilder) else plan
        path = tmp_path / f"plan-{index}.json"
        path.write_text(json.dumps(document))
        paths.append(str(path))
    return paths


def review(tmp_path, capsys, *plans, args=()) -> tuple[int, str, str]:
    code = plan_review.main([*args, *write(tmp_path, *plans)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def first(plan: PlanBuilder, kind: str, containing: str = "") -> str:
    return next(a for a in plan.addresses(kind) if containing in a)


def flag_lines(report: str, code: str) -> list[str]:
    return [line for line in report.splitlines() if line.startswith("- ") and f"({code})" in line]


BLOCKING, REVIEW = "⛔ **BLOCKING**", "⚠️ **REVIEW**"


def flagged(report: str, code: str, mark: str) -> str:
    """The report's lines of flag ``code``, each marked ``mark``, as one text."""
    lines = flag_lines(report, code)
    assert lines and all(line.startswith(f"- {mark} ({code})") for line in lines), lines
    return "\n".join(lines)


def test_the_plans_are_in_terraforms_documented_format(example):
    plan = builder(example, "payment-prod-services").build()
    assert plan["format_version"].startswith("1.")
    change = plan["resource_changes"][0]
    assert set(change) >= {"address", "mode", "type", "name", "provider_name", "change"}
    assert set(change["change"]) >= {"actions", "before", "after", "after_unknown"}
    synthesized = {
        f"{kind}.{name}"
        for kind, items in example["payment-prod-services"].json["resource"].items()
        for name in items
    }
    assert {c["address"] for c in plan["resource_changes"]} == synthesized
    tags = plan["configuration"]["provider_config"]["aws"]["expressions"]["default_tags"]
    assert tags[0]["tags"]["constant_value"]["environment"] == "prod"


def test_a_clean_plan_of_every_stack_passes(stacks, environments, tmp_path, capsys):
    plans = [builder(stacks, name) for name in sorted(stacks)]
    code, out, err = review(tmp_path, capsys, *plans)
    assert code == OK, out
    assert err == ""
    assert "✅ Nothing blocks.** 0 finding(s)" in out
    assert out.count("No changes.") == len(stacks)
    for env in environments.values():
        tier = "production" if env.is_production else "non-production"
        assert f"{env.prefix}-services | {env.name} | {tier} | 0 | 0 | 0 | 0 | — |" in out


def test_first_deployment_counts_creates_and_flags_new_access_only(example, tmp_path, capsys):
    plan = builder(example, "payment-prod-network", applied=False)
    code, out, _ = review(tmp_path, capsys, plan)
    creates = sum(len(items) for items in example["payment-prod-network"].json["resource"].values())
    assert f"| payment-prod-network | prod | production | {creates} | 0 | 0 | 0 |" in out
    assert code == OK  # creating is not destroying; new policies and rules are (b)
    assert not flag_lines(out, "a") and not flag_lines(out, "c")
    assert flag_lines(out, "b")


# ------------------------------------------------------------------ (a)


def test_a_replaced_database_blocks_in_the_production_tier(example, tmp_path, capsys):
    plan = builder(example, "payment-prod-data")
    cluster = first(plan, "aws_rds_cluster")
    after = plan.values(cluster) | {"engine_version": "17.1"}
    plan.replace(cluster, after, [["engine_version"]])
    code, out, _ = review(tmp_path, capsys, plan)
    assert code == BLOCKED
    (line,) = flag_lines(out, "a")
    assert line.startswith("- ⛔ **BLOCKING** (a)")
    assert f"`{cluster}` is **replaced**" in line and "forced by `engine_version`" in line
    assert "⛔ Blocked: 1 finding(s)" in out
    assert f"| replace | `{cluster}` |" in out and "| `engine_version` |" in out


def test_destroying_the_state_bucket_and_its_key_is_flagged(example, tmp_path, capsys):
    plan = builder(example, "payment-prod-bootstrap")
    bucket = first(plan, "aws_s3_bucket", "state_bucket")
    key = first(plan, "aws_kms_key")
    plan.destroy(bucket).destroy(key)
    code, out, _ = review(tmp_path, capsys, plan)
    assert code == BLOCKED
    flagged = "\n".join(flag_lines(out, "a"))
    assert f"`{bucket}` is **destroyed**" in flagged and f"`{key}` is **destroyed**" in flagged


def test_stateful_changes_outside_the_production_tier_are_reported_only(example, tmp_path, capsys):
    plan = builder(example, "payment-dev-data")
    plan.destroy(first(plan, "aws_rds_cluster_instance"))
    code, out, _ = review(tmp_path, capsys, plan)
    assert code == OK
    (line,) = flag_lines(out, "a")
    assert line.startswith("- ⚠️ **REVIEW** (a)")


def test_the_tier_decides_not_the_name(example, tmp_path, capsys, monkeypatch):
    plan = builder(example, "payment-prod-data")
    plan.destroy(first(plan, "aws_rds_cluster"))
    paths = write(tmp_path, plan)
    # "prod" declared non-production: reported, not blocking.
    monkeypatch.setattr(plan_review, "environment_tiers", lambda: {"prod": "non-production"})
    assert plan_review.main(paths) == OK
    # A production-tier environment with another name blocks.
    dev = builder(example, "payment-dev-data")
    dev.destroy(first(dev, "aws_rds_cluster"))
    monkeypatch.setattr(plan_review, "environment_tiers", lambda: {"dev": "production"})
    assert plan_review.main(write(tmp_path, dev)) == BLOCKED
    # --tier overrides configuration for every plan.
    assert plan_review.main(["--tier", "non-production", *paths]) == OK
    capsys.readouterr()


def test_the_tiers_come_from_configuration(environments):
    tiers = plan_review.environment_tiers()
    assert tiers == {
        name: "production" if env.is_production else "non-production"
        for name, env in environments.items()
    }


# ------------------------------------------------------------------ (b)


def test_widened_policies_and_security_groups_are_reported_not_blocking(example, tmp_path, capsys):
    plan = builder(example, "payment-prod-services")
    role_policy = first(plan, "aws_iam_role_policy", "payment-api_task-policy")
    after = plan.values(role_policy)
    document = json.loads(after["policy"])
    document["Statement"].append(
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::elsewhere/*"}
    )
    after["policy"] = json.dumps(document)
    plan.update(role_policy, after)
    rule = first(plan, "aws_vpc_security_group_ingress_rule", "internal-alb_test-in-0")
    plan.update(rule, plan.values(rule) | {"cidr_ipv4": "0.0.0.0/0", "to_port": 8500})
    untouched = first(plan, "aws_vpc_security_group_ingress_rule", "public-alb_production-443")
    plan.update(untouched, plan.values(untouched) | {"description": "reworded"})
    code, out, _ = review(tmp_path, capsys, plan)
    assert code == OK
    text = flagged(out, "b", REVIEW)
    assert f"`{role_policy}` `policy`: 1 new allowed grant(s)" in text
    assert "new actions `s3:PutObject`" in text and "`arn:aws:s3:::elsewhere/*`" in text
    assert "ingress tcp/8443-8500 from `0.0.0.0/0` (anywhere)" in text
    assert untouched not in text  # a description is not access
    assert len(flag_lines(out, "b")) == 2


def test_key_and_bucket_policies_gaining_principals_are_reported(example, tmp_path, capsys):
    plan = builder(example, "payment-prod-bootstrap")
    key = first(plan, "aws_kms_key")
    after = plan.values(key)
    document = json.loads(after["policy"])
    document["Statement"].append(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "kms:Decrypt",
            "Resource": "*",
        }
    )
    after["policy"] = json.dumps(document)
    plan.update(key, after)
    bucket_policy = first(plan, "aws_s3_bucket_policy", "state_policy")
    after = plan.values(bucket_policy)
    document = json.loads(after["policy"])
    denies = [s for s in document["Statement"] if s.get("Effect") == "Deny"]
    assert denies, "the state bucket policy denies plain HTTP"
    document["Statement"] = [s for s in document["Statement"] if s.get("Effect") != "Deny"]
    after["policy"] = json.dumps(document)
    plan.update(bucket_policy, after)
    code, out, _ = review(tmp_path, capsys, plan)
    assert code == OK
    text = "\n".join(flag_lines(out, "b"))
    assert "new principals `AWS:arn:aws:iam::111122223333:root`" in text
    assert f"`{bucket_policy}` `policy`: Deny removed" in text


def test_a_narrowed_policy_is_not_a_widening():
    before = {
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}
        ]
    }
    after = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    assert plan_review.policy_widening(json.dumps(before), json.dumps(after)) is None
    assert "new actions `s3:PutObject`" in str(plan_review.policy_widening(after, before))


# ------------------------------------------------------------------ (c)


def test_codedeploy_owned_fields_block_in_the_production_tier(example, tmp_path, capsys):
    plan = builder(example, "payment-prod-services")
    service = first(plan, "aws_ecs_service", "payment-api")
    plan.update(
        service,
        plan.values(service)
        | {"task_definition": "payment-prod-payment-api:1", "desired_count": 9},
    )
    listener = first(plan, "aws_lb_listener", "public-alb_production-listener")
    plan.update(
        listener,
        plan.values(listener)
        | {"default_action": [{"type": "forward", "target_group_arn": "arn:aws:blue"}]},
    )
    rule = first(plan, "aws_lb_listener_rule", "payment-api_production-rule")
    rule_after = plan.values(rule)
    rule_after["action"] = [{"type": "forward", "target_group_arn": "arn:aws:other"}]
    plan.update(rule, rule_after)
    code, out, _ = review(tmp_path, capsys, plan)
    assert code == BLOCKED
    text = flagged(out, "c", BLOCKING)
    assert f"`{service}` changes `task_definition`" in text
    assert "desired_count" not in text  # autoscaling's, not CodeDeploy's
    assert f"`{listener}` changes `default_action`" in text
    assert f"`{rule}` changes `action`" in text
    assert len(flag_lines(out, "c")) == 3


def test_the_codedeploy_fields_are_the_contract_tables():
    from config.codedeploy_contract import CODEDEPLOY_OWNED, fields_of_class

    assert plan_review.CODEDEPLOY_FIELDS == fields_of_class(CODEDEPLOY_OWNED)
    assert "task_definition" in plan_review.CODEDEPLOY_FIELDS


def test_listeners_codedeploy_does_not_route_are_not_flagged(example, tmp_path, capsys):
    plan = builder(example, "payment-prod-services")
    redirect = first(plan, "aws_lb_listener", "http-redirect")
    plan.update(
        redirect,
        plan.values(redirect) | {"default_action": [{"type": "fixed-response"}]},
    )
    service = first(plan, "aws_ecs_service", "payment-api")
    plan.update(service, plan.values(service) | {"desired_count": 4})
    code, out, _ = review(tmp_path, capsys, plan)
    assert code == OK
    assert not flag_lines(out, "c")


def test_a_replaced_codedeploy_service_is_flagged_and_reported_outside_prod(
    example, tmp_path, capsys
):
    plan = builder(example, "payment-staging-services")
    service = first(plan, "aws_ecs_service", "payment-api")
    plan.replace(service, plan.values(service) | {"name": "payment-api-v2"}, [["name"]])
    code, out, _ = review(tmp_path, capsys, plan)
    assert code == OK  # staging is non-production
    (line,) = flag_lines(out, "c")
    assert line.startswith("- ⚠️ **REVIEW** (c)") and "forced by `name`" in line


# ------------------------------------------------------------------ (d)


def test_changed_and_removed_cross_stack_outputs_are_reported(example, tmp_path, capsys):
    network = builder(example, "payment-dev-network")
    outputs = sorted(n for n in network.stack.outputs() if n.startswith("cross-stack-output-"))
    read = next(n for n in outputs if n in example["payment-dev-services"].text)
    removed = next(n for n in outputs if n != read)
    network.output(read, ["update"], unknown=True)
    network.output(removed, ["delete"])
    services = builder(example, "payment-dev-services")
    code, out, _ = review(tmp_path, capsys, network, services)
    assert code == OK
    text = "\n".join(flag_lines(out, "d"))
    assert f"`output.{read}` changes to a value known only after apply" in text
    assert "read by payment-dev-services" in text
    assert f"`output.{removed}` is **removed**" in text
    assert len(flag_lines(out, "d")) == 2


def test_outputs_nobody_reads_through_remote_state_are_not_flagged(example, tmp_path, capsys):
    plan = builder(example, "payment-prod-services")
    plan.output("cluster_name", ["update"], after="renamed")
    code, out, _ = review(tmp_path, capsys, plan)
    assert code == OK
    assert not flag_lines(out, "d")


# ------------------------------------------------------------------ unreadable


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON (Expecting property name"),
        ('{"format_version": "1.0", "values": {}}', "a state, not a plan"),
        ('{"format_version": "2.0", "planned_values": {}}', "format_version 2.0 is not supported"),
        ('{"format_version": "1.2", "planned_values": {}, "errored": true}', "the plan errored"),
        ("[]", "not a Terraform plan in JSON"),
        ('{"format_version": "1.2", "planned_values": {}}', "cannot tell the environment"),
    ],
)
def test_unreadable_input_exits_2_with_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert plan_review.main([str(path)]) == UNREADABLE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith(f"plan_review: {path}: ")
    assert message in captured.err


def test_an_unknown_environment_exits_2(example, tmp_path, capsys):
    plan = builder(example, "payment-dev-data").build()
    tags = plan["configuration"]["provider_config"]["aws"]["expressions"]["default_tags"][0]
    tags["tags"]["constant_value"]["environment"] = "qa"
    code, out, err = review(tmp_path, capsys, plan)
    assert code == UNREADABLE and out == ""
    assert "environment 'qa' is not defined in configuration; allowed: dev, staging, prod" in err


def _run_all(commands: list[list[str]]) -> list[subprocess.CompletedProcess]:
    """Runs the commands at the same time; their results in order."""
    processes = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    try:
        outputs = [p.communicate(timeout=60) for p in processes]
        return [
            subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr)
            for p, (stdout, stderr) in zip(processes, outputs, strict=True)
        ]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()


def test_the_command_line_exit_codes(example, tmp_path):
    """As CI runs it: a binary plan file is refused in one line (exit 2);
    a blocking plan prints the report and exits 1."""
    binary = tmp_path / "plan.tfplan"
    binary.write_bytes(b"PK\x03\x04\xff\xfe\x00binary")
    plan = builder(example, "payment-prod-security")
    plan.destroy(first(plan, "aws_kms_key"))
    (path,) = write(tmp_path, plan)
    tool = [sys.executable, str(ROOT / "tools" / "review" / "plan_review.py")]
    report = tmp_path / "review.md"
    # Both runs at once.
    bad, blocked = _run_all([[*tool, str(binary)], [*tool, "--output", str(report), path]])
    assert bad.returncode == UNREADABLE and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [
        f"plan_review: {binary}: not UTF-8 text; a binary plan file? Run terraform show -json PLANFILE"
    ]
    assert blocked.returncode == BLOCKED, blocked.stderr
    assert "⛔ **BLOCKING** (a)" in report.read_text()
