"""The data tier: Aurora Serverless v2 PostgreSQL, asserted on the synthesized
JSON of every environment, plus the construct's contract and bad input."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from config import load_environments
from framework import App
from framework import Testing as CdktfTesting
from framework.aws import aws
from modules.database import PORT, AuroraDatabase, AuroraDatabaseProps
from stacks.base import PlatformStack
from stacks.data import DataStack
from stacks.network import NetworkStack
from stacks.security import SecurityStack
from tests.conftest import ENVIRONMENTS, stack
from tests.fixtures.example import DEV, PROD, STAGING
from tests.helpers import in_place_of_namesake, log_groups_but_findings, problems_of
from tests.synth import synthesize


@pytest.fixture(params=ENVIRONMENTS)
def data(request, stacks, environments):
    return stack(stacks, request.param, "data"), environments[request.param]


def database_only(synthesized, resource_type: str) -> dict:
    """The one ``resource_type`` of the database construct (the backup
    construct beside it has its own role and security group)."""
    found = [
        r for k, r in synthesized.resources(resource_type).items() if k.startswith("database_")
    ]
    assert len(found) == 1, f"{synthesized.name}: expected one database {resource_type}"
    return found[0]


def cluster_of(synthesized):
    return synthesized.only("aws_rds_cluster")


def remote_output(value: str, stack_part: str, construct_path: str) -> bool:
    """True when ``value`` reads an output of another stack of this env."""
    return (
        value.startswith("${data.terraform_remote_state.cross-stack-reference-input-")
        and f"-{stack_part}.outputs." in value
        and construct_path in value
    )


# --- The cluster --------------------------------------------------------


def test_stack_is_named_and_built_for_each_environment(stacks, built_stacks):
    for env in ENVIRONMENTS:
        assert f"payment-{env}-data" in stacks
        data_stack = built_stacks[env].data
        assert isinstance(data_stack, DataStack)
        assert data_stack in built_stacks[env].all()
        assert isinstance(data_stack.database, AuroraDatabase)


def test_engine_is_aurora_postgresql_serverless_v2(data):
    synthesized, env = data
    cluster = cluster_of(synthesized)
    assert cluster["cluster_identifier"] == env.prefix
    assert cluster["engine"] == "aurora-postgresql"
    assert cluster["engine_mode"] == "provisioned"
    assert cluster["engine_version"] == env.database.engine_version
    assert cluster["port"] == PORT == 5432
    assert cluster["database_name"] == env.database.database_name


def test_scaling_follows_config(data):
    synthesized, env = data
    scaling = cluster_of(synthesized)["serverlessv2_scaling_configuration"]
    assert scaling["min_capacity"] == env.database.min_capacity_acu
    assert scaling["max_capacity"] == env.database.max_capacity_acu
    if env.database.auto_pause_seconds is None:
        assert "seconds_until_auto_pause" not in scaling
    else:
        assert scaling["seconds_until_auto_pause"] == env.database.auto_pause_seconds


def test_dev_pauses_and_prod_never_does(example_stacks):
    dev = cluster_of(stack(example_stacks, "dev", "data"))["serverlessv2_scaling_configuration"]
    prod = cluster_of(stack(example_stacks, "prod", "data"))["serverlessv2_scaling_configuration"]
    assert dev["min_capacity"] == 0 and dev["seconds_until_auto_pause"] == 1800
    assert prod["min_capacity"] >= 0.5 and "seconds_until_auto_pause" not in prod


def test_serverless_instances_writer_and_readers_in_distinct_azs(data):
    synthesized, env = data
    by_key = sorted(
        synthesized.resources("aws_rds_cluster_instance").items(),
        key=lambda item: item[1]["identifier"],
    )
    instances = [instance for _, instance in by_key]
    assert len(instances) == env.database.reader_count + 1
    if env.is_production:
        assert len(instances) >= 2
    azs = [i["availability_zone"] for i in instances]
    assert len(set(azs)) == len(azs) and set(azs) <= set(env.azs)
    for index, instance in enumerate(instances):
        assert instance["identifier"] == f"{env.prefix}-{index}"
        assert instance["instance_class"] == "db.serverless"
        assert instance["engine"] == "aurora-postgresql"
        assert instance["cluster_identifier"].startswith("${aws_rds_cluster.")
        assert instance["publicly_accessible"] is False
        assert instance["promotion_tier"] == (0 if index == 0 else 1)
    # Readers wait for the writer so instance 0 becomes the writer.
    for reader in instances[1:]:
        assert reader["depends_on"] == [f"aws_rds_cluster_instance.{by_key[0][0]}"]


def test_example_staging_and_prod_run_a_writer_and_a_reader(example_stacks):
    for name in ("staging", "prod"):
        instances = stack(example_stacks, name, "data").resources("aws_rds_cluster_instance")
        assert len(instances) >= 2, name


def test_instances_have_performance_insights_and_monitoring_with_cmk(data):
    synthesized, _ = data
    role = database_only(synthesized, "aws_iam_role")
    assert json.loads(role["assume_role_policy"])["Statement"][0]["Principal"] == {
        "Service": "monitoring.rds.amazonaws.com"
    }
    attachment = database_only(synthesized, "aws_iam_role_policy_attachment")
    assert attachment["policy_arn"].endswith(
        ":iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    )
    for instance in synthesized.resources("aws_rds_cluster_instance").values():
        assert instance["performance_insights_enabled"] is True
        assert remote_output(instance["performance_insights_kms_key_id"], "security", "data-key")
        assert instance["performance_insights_retention_period"] == 7
        assert instance["monitoring_interval"] == 60
        assert instance["monitoring_role_arn"].startswith("${aws_iam_role.")
        assert instance["auto_minor_version_upgrade"] is True
        assert instance["ca_cert_identifier"] == "rds-ca-rsa2048-g1"


def test_cluster_ignores_the_engine_version_rds_upgrades(data):
    """Day 2: instances take minor upgrades automatically (PCI DSS 6.3.3
    patches); RDS then reports the newer version and hashicorp/aws 6.25.0
    would plan a downgrade RDS refuses (provider #48936, fixed by #49396 in
    a later release). The cluster therefore ignores engine_version, and no
    instance pins one (they report the cluster's)."""
    synthesized, env = data
    cluster = cluster_of(synthesized)
    assert cluster["engine_version"] == env.database.engine_version
    # backup_retention_period belongs to AWS Backup's plan (test_backup.py).
    assert cluster["lifecycle"]["ignore_changes"] == ["engine_version", "backup_retention_period"]
    for instance in synthesized.resources("aws_rds_cluster_instance").values():
        assert instance["auto_minor_version_upgrade"] is True
        assert "engine_version" not in instance


@pytest.mark.app_synthesis  # synthesizes its own variant (D79)
def test_major_version_upgrade_sends_the_version_with_the_new_parameter_group(tmp_path):
    """The documented major-upgrade apply: engine_version is no longer
    ignored, so the provider sends it together with the parameter group of
    the new family and allow_major_version_upgrade (ModifyDBCluster refuses
    a parameter group of another family otherwise)."""
    upgraded = dataclasses.replace(
        DEV,
        database=dataclasses.replace(
            DEV.database, engine_version="17.4", major_version_upgrade=True
        ),
    )
    _, stacks = synthesize([upgraded], tmp_path)
    synthesized = stacks["payment-dev-data"]
    cluster = cluster_of(synthesized)
    assert cluster["engine_version"] == "17.4"
    assert cluster["allow_major_version_upgrade"] is True
    # Applied now, in the change window, not at the next maintenance window
    # (RDS API reference, ModifyDBCluster: ApplyImmediately, EngineVersion;
    # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBCluster.html).
    assert cluster["apply_immediately"] is True
    assert "engine_version" not in cluster["lifecycle"]["ignore_changes"]
    group = synthesized.only("aws_rds_cluster_parameter_group")
    assert group["family"] == "aurora-postgresql17"
    assert cluster["db_cluster_parameter_group_name"].startswith(
        "${aws_rds_cluster_parameter_group."
    )


def test_isolated_subnets_via_subnet_group(data):
    synthesized, env = data
    group = synthesized.only("aws_db_subnet_group")
    assert group["name"] == f"{env.prefix}-database"
    assert len(group["subnet_ids"]) == len(env.azs)  # one isolated subnet per AZ
    for index, subnet in enumerate(group["subnet_ids"]):
        assert remote_output(subnet, "network", f"network_isolated-{index}_")
    assert cluster_of(synthesized)["db_subnet_group_name"].startswith("${aws_db_subnet_group.")
    for instance in synthesized.resources("aws_rds_cluster_instance").values():
        assert instance["db_subnet_group_name"] == cluster_of(synthesized)["db_subnet_group_name"]


def test_storage_and_master_secret_encrypted_with_data_key_no_password(data):
    synthesized, _ = data
    cluster = cluster_of(synthesized)
    assert cluster["storage_encrypted"] is True
    assert remote_output(cluster["kms_key_id"], "security", "data-key")
    assert cluster["manage_master_user_password"] is True
    assert cluster["master_user_secret_kms_key_id"] == cluster["kms_key_id"]
    assert cluster["master_username"]
    assert not any(k.startswith("master_password") for k in cluster)
    assert "master_password" not in synthesized.text
    assert cluster["iam_database_authentication_enabled"] is True


def test_postgresql_log_group_exists_first_encrypted_with_logs_key(data):
    synthesized, env = data
    cluster = cluster_of(synthesized)
    assert cluster["enabled_cloudwatch_logs_exports"] == ["postgresql"]
    ((key, group),) = log_groups_but_findings(synthesized).items()
    assert group["name"] == f"/aws/rds/cluster/{cluster['cluster_identifier']}/postgresql"
    assert group["retention_in_days"] == env.log_retention_days
    assert remote_output(group["kms_key_id"], "security", "logs-key")
    assert f"aws_cloudwatch_log_group.{key}" in cluster["depends_on"]


def test_parameter_group_logs_slow_statements_connections_and_forces_tls(data):
    synthesized, env = data
    ((key, group),) = synthesized.resources("aws_rds_cluster_parameter_group").items()
    major = env.database.engine_version.split(".")[0]
    assert group["family"] == f"aurora-postgresql{major}"
    assert group["name"] == f"{env.prefix}-aurora-postgresql{major}"
    assert group["lifecycle"] == {"create_before_destroy": True}
    params = {p["name"]: p["value"] for p in group["parameter"]}
    assert params == {
        "log_min_duration_statement": "1000",
        "log_connections": "1",
        "log_disconnections": "1",
        "log_statement": "ddl",
        "rds.force_ssl": "1",
        # docs/pci-responsibility.md 3.3.1, 10.2.1: no bound values in logs, pgAudit.
        "log_parameter_max_length": "0",
        "log_parameter_max_length_on_error": "0",
        "shared_preload_libraries": "pg_stat_statements,pgaudit",
        "pgaudit.log": "ddl,role",
        "pgaudit.role": "rds_pgaudit",
        "pgaudit.log_parameter": "0",
        "pgaudit.log_catalog": "0",
    }
    methods = {p["name"]: p["apply_method"] for p in group["parameter"]}
    # Static: RDS refuses "immediate" for it; applied at the next reboot (runbook).
    assert methods.pop("shared_preload_libraries") == "pending-reboot"
    assert set(methods.values()) == {"immediate"}
    assert cluster_of(synthesized)["db_cluster_parameter_group_name"] == (
        f"${{aws_rds_cluster_parameter_group.{key}.name}}"
    )


def test_backups_snapshots_and_deletion_protection_follow_config(data):
    synthesized, env = data
    cluster = cluster_of(synthesized)
    assert cluster["backup_retention_period"] == env.database.backup_retention_days
    assert cluster["copy_tags_to_snapshot"] is True
    assert cluster["skip_final_snapshot"] is False
    assert cluster["final_snapshot_identifier"] == f"{env.prefix}-final"
    assert cluster["delete_automated_backups"] is False
    assert cluster["deletion_protection"] is env.database.deletion_protection
    assert cluster["preferred_backup_window"] and cluster["preferred_maintenance_window"]
    if env.is_production:
        assert cluster["backup_retention_period"] >= 7
        assert cluster["deletion_protection"] is True


def test_prevent_destroy_only_in_prod(data):
    synthesized, env = data
    lifecycle = cluster_of(synthesized).get("lifecycle", {})
    assert lifecycle.get("prevent_destroy", False) is env.is_production


def test_security_group_has_no_inline_rules_and_no_cidr_anywhere(data):
    synthesized, env = data
    key, group = next(
        (k, g)
        for k, g in synthesized.resources("aws_security_group").items()
        if k.startswith("database_")
    )
    assert group["name"] == f"{env.prefix}-database"
    assert remote_output(group["vpc_id"], "network", "network_vpc_")
    assert "ingress" not in group and "egress" not in group
    assert cluster_of(synthesized)["vpc_security_group_ids"] == [
        f"${{aws_security_group.{key}.id}}"
    ]
    # Ingress is opened by the services stack, never from CIDR ranges here.
    for rule_type in ("aws_security_group_rule", "aws_vpc_security_group_ingress_rule"):
        assert synthesized.resources(rule_type) == {}


def test_database_ingress_only_from_services_that_use_it(stacks, environments):
    """Every rule that opens the database group, in whichever stack, names
    the security group of a service configured with uses_database."""
    for env in environments.values():
        opened_by = []
        for name, synthesized in stacks.items():
            if not name.startswith(f"{env.prefix}-"):
                continue
            for rule_type in ("aws_vpc_security_group_ingress_rule", "aws_security_group_rule"):
                for rule in synthesized.resources(rule_type).values():
                    if "database_security-group" not in rule.get("security_group_id", ""):
                        continue
                    assert rule_type == "aws_vpc_security_group_ingress_rule", name
                    assert (rule["from_port"], rule["to_port"], rule["ip_protocol"]) == (
                        5432,
                        5432,
                        "tcp",
                    ), name
                    assert not any(k.startswith("cidr") or k == "prefix_list_id" for k in rule), (
                        name
                    )
                    source = re.fullmatch(
                        r"\$\{aws_security_group\.([^.]+)\.id\}",
                        rule["referenced_security_group_id"],
                    )
                    assert source, (name, rule["referenced_security_group_id"])
                    group_name = synthesized.resources("aws_security_group")[source.group(1)][
                        "name"
                    ]
                    opened_by += [svc.name for svc in env.services if svc.name in group_name]
        expected = sorted(svc.name for svc in env.services if svc.uses_database)
        assert sorted(opened_by) == expected, env.name


def test_outputs_for_later_tiers(data):
    synthesized, _ = data
    outputs = synthesized.json["output"]
    for name in (
        "cluster_identifier",
        "writer_endpoint",
        "reader_endpoint",
        "master_user_secret_arn",
    ):
        assert name in outputs
    assert outputs["master_user_secret_arn"]["value"].endswith(".master_user_secret[0].secret_arn}")


# --- The construct's contract (small unit app, dev configuration) -------


@pytest.fixture(scope="module")
def unit(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("data-unit")
    app = App(outdir=str(outdir))
    security = SecurityStack(app, DEV)
    network = NetworkStack(app, DEV, security)
    data_stack = DataStack(app, DEV, security, network)
    consumer = PlatformStack(app, DEV, "consumer")
    return app, security, network, data_stack, consumer


@pytest.fixture(scope="module")
def consumer_json(unit):
    """What a services stack gets from the contract, synthesized with the
    app so cross-stack references resolve."""
    app, _, _, data_stack, consumer = unit
    db = data_stack.database
    rule = db.allow_connections_from(
        consumer, "payment-api-to-database", "sg-0123456789abcdef0", "payment-api tasks"
    )
    assert rule.node.scope is consumer
    aws.iam_policy.IamPolicy(
        consumer,
        "connect",
        name="connect",
        policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    db.iam_connect_statement("payment_api", "123456789012", "eu-west-1", "aws")
                ],
            }
        ),
    )
    app.synth()
    return {
        name: json.loads(
            (Path(app.outdir) / "stacks" / f"payment-dev-{name}" / "cdk.tf.json").read_text()
        )
        for name in ("consumer", "data")
    }


def test_typed_attributes(unit):
    _, _, _, data_stack, _ = unit
    db = data_stack.database
    assert db.port == 5432
    for token in (
        db.endpoint,
        db.reader_endpoint,
        db.master_user_secret_arn,
        db.cluster_resource_id,
    ):
        assert isinstance(token, str) and token.startswith("${TfToken[")
    assert db.writer is db.instances[0] and db.readers == db.instances[1:]
    assert type(db.security_group).__name__ == "SecurityGroup"
    assert type(db.cluster).__name__ == "RdsCluster"


def test_allow_connections_from_creates_rule_in_callers_stack(consumer_json):
    (found,) = consumer_json["consumer"]["resource"]["aws_vpc_security_group_ingress_rule"].values()
    assert found["ip_protocol"] == "tcp"
    assert found["from_port"] == found["to_port"] == 5432
    assert found["referenced_security_group_id"] == "sg-0123456789abcdef0"
    assert found["description"] == "payment-api tasks"
    assert remote_output(found["security_group_id"], "data", "database_security-group")
    assert "aws_vpc_security_group_ingress_rule" not in consumer_json["data"]["resource"]


def test_iam_connect_statement(consumer_json):
    (policy,) = consumer_json["consumer"]["resource"]["aws_iam_policy"].values()
    (statement,) = json.loads(policy["policy"])["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "rds-db:connect"
    assert statement["Sid"] == "ConnectAsPaymentApi"
    prefix = "arn:aws:rds-db:eu-west-1:123456789012:dbuser:"
    assert statement["Resource"].startswith(prefix)
    assert statement["Resource"].endswith("/payment_api")
    resource_id = statement["Resource"][len(prefix) : -len("/payment_api")]
    assert remote_output(resource_id, "data", "database_cluster_")
    assert resource_id.endswith("cluster_resource_id}")


@pytest.mark.parametrize(
    "user, message",
    [
        ("Payment-API", "db_user: 'Payment-API' is not allowed"),
        ("", "db_user: '' is not allowed"),
        ("payments_admin", "db_user: 'payments_admin' is the master user"),
    ],
)
def test_iam_connect_statement_refuses_bad_users(unit, user, message):
    _, _, _, data_stack, _ = unit
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        data_stack.database.iam_connect_statement(user, "123456789012", "eu-west-1", "aws")


def _props(unit, **changes) -> AuroraDatabaseProps:
    _, security, network, _, _ = unit
    base = AuroraDatabaseProps(
        name="probe",
        network=network.network,
        partition="aws",
        data_key=security.data_key,
        logs_key=security.logs_key,
        engine_version="16.6",
        min_capacity_acu=0.5,
        max_capacity_acu=4,
        reader_count=1,
        backup_retention_days=7,
        log_retention_days=30,
        database_name="payments",
        master_username="payments_admin",
    )
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"reader_count": 3}, "reader_count: 3 is not allowed; use 0-2"),
        (
            {"max_capacity_acu": 1, "min_capacity_acu": 2},
            "max_capacity_acu: 1 is less than min_capacity_acu 2",
        ),
        ({"auto_pause_seconds": 600}, "auto_pause_seconds: 600 needs min_capacity_acu 0"),
        ({"backup_retention_days": 0}, "backup_retention_days: 0 is not allowed; use 1-35"),
        ({"backup_retention_days": 36}, "backup_retention_days: 36 is not allowed; use 1-35"),
        ({"engine_version": "16"}, "engine_version: '16' is not allowed; use MAJOR.MINOR"),
        ({"monitoring_interval_seconds": 7}, "monitoring_interval_seconds: 7 is not allowed"),
        (
            {"performance_insights_retention_days": 8},
            "performance_insights_retention_days: 8 is not allowed",
        ),
        (
            {"performance_insights_retention_days": 744},
            "performance_insights_retention_days: 744 is not allowed",
        ),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else None,
)
def test_construct_refuses_bad_props(unit, changes, message):
    app = unit[0]
    probe = PlatformStack(app, DEV, f"probe-{abs(hash(str(changes)))}")
    with pytest.raises(ValueError, match=message):
        AuroraDatabase(probe, "database", _props(unit, **changes))
    assert probe.node.try_find_child("database") is None


def test_construct_without_monitoring_creates_no_role(unit):
    app = unit[0]
    probe = PlatformStack(app, DEV, "probe-no-monitoring")
    AuroraDatabase(probe, "database", _props(unit, monitoring_interval_seconds=0, reader_count=0))
    synthesized = json.loads(CdktfTesting.synth(probe))["resource"]
    assert "aws_iam_role" not in synthesized
    (instance,) = synthesized["aws_rds_cluster_instance"].values()
    assert instance["monitoring_interval"] == 0 and "monitoring_role_arn" not in instance


# --- Bad configuration fails with a clear message (config/model/validation.py) ----


def with_db(env, **changes):
    return dataclasses.replace(env, database=dataclasses.replace(env.database, **changes))


@pytest.mark.parametrize(
    "env, changes, message",
    [
        (
            PROD,
            {"major_version_upgrade": "yes"},
            "prod.database.major_version_upgrade: 'yes' is a str; expected bool",
        ),
        (
            STAGING,
            {"max_capacity_acu": 1, "min_capacity_acu": 2},
            "staging.database.max_capacity_acu: 1 is less than min_capacity_acu 2; allowed: max >= min",
        ),
        (
            STAGING,
            {"max_capacity_acu": 0.5},
            "staging.database.max_capacity_acu: 0.5 is not allowed; minimum 1",
        ),
        (
            STAGING,
            {"min_capacity_acu": 0.7},
            "staging.database.min_capacity_acu: 0.7 is not allowed; use 0-256 ACU in steps of 0.5",
        ),
        (
            STAGING,
            {"max_capacity_acu": 300},
            "staging.database.max_capacity_acu: 300 is not allowed; use 0-256 ACU in steps of 0.5",
        ),
        (
            STAGING,
            {"backup_retention_days": 0},
            "staging.database.backup_retention_days: 0 is not allowed; use 1-35",
        ),
        (
            STAGING,
            {"backup_retention_days": 36},
            "staging.database.backup_retention_days: 36 is not allowed; use 1-35",
        ),
        (
            PROD,
            {"backup_retention_days": 6},
            "prod.database.backup_retention_days: 6 is not allowed in the production tier; use 7-35",
        ),
        (
            PROD,
            {"deletion_protection": False},
            "prod.database.deletion_protection: False is not allowed in the production tier",
        ),
        (
            PROD,
            {"reader_count": 0},
            "prod.database.reader_count: 0 is not allowed in the production tier; multi-AZ needs at least one reader",
        ),
        (DEV, {"reader_count": 3}, "dev.database.reader_count: 3 is not allowed; use 0-2"),
        (
            DEV,
            {"auto_pause_seconds": None},
            "dev.database.min_capacity_acu: 0 needs auto_pause_seconds (pausing); set it or use 0.5",
        ),
        (
            STAGING,
            {"auto_pause_seconds": 600},
            "staging.database.auto_pause_seconds: 600 needs min_capacity_acu 0",
        ),
        (
            DEV,
            {"auto_pause_seconds": 60},
            "dev.database.auto_pause_seconds: 60 is not allowed; use 300-86400 or None",
        ),
        (
            DEV,
            {"engine_version": "16.2"},
            "dev.database.auto_pause_seconds: engine '16.2' does not support auto-pause",
        ),
        (
            DEV,
            {"engine_version": "15.6"},
            "dev.database.auto_pause_seconds: engine '15.6' does not support auto-pause",
        ),
        (
            PROD,
            {"min_capacity_acu": 0, "auto_pause_seconds": 600},
            "prod.database.auto_pause_seconds: auto-pause is not allowed in the production tier",
        ),
        (
            DEV,
            {"engine_version": "16"},
            "dev.database.engine_version: '16' is not allowed; use MAJOR.MINOR, e.g. 16.6",
        ),
        (
            DEV,
            {"master_username": "postgres"},
            "dev.database.master_username: 'postgres' is not allowed",
        ),
        (
            DEV,
            {"database_name": "Payments"},
            "dev.database.database_name: 'Payments' is not allowed",
        ),
    ],
    ids=lambda v: (
        v.name if hasattr(v, "name") else (next(iter(v)) if isinstance(v, dict) else None)
    ),
)
def test_bad_database_config_fails_with_clear_message(env, changes, message):
    assert message in problems_of(
        *in_place_of_namesake(with_db(env, **changes), (DEV, STAGING, PROD))
    )


@pytest.mark.parametrize("version", ["16.3", "15.7", "14.12", "13.15", "17.1"])
def test_auto_pause_accepted_from_supported_minor_versions(version):
    env = with_db(DEV, engine_version=version)
    assert load_environments(defined=[env, STAGING, PROD])[0].database.engine_version == version
