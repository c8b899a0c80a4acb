"""Argument names of every synthesized block against the provider schema."""

from __future__ import annotations

import json

import pytest

from framework import TerraformStack
from framework import Testing as CdktfTesting
from framework.aws import aws
from guardrails.schema import Problem, build_schema, load_schema, validate_stack


@pytest.fixture(scope="module")
def schema():
    return load_schema()


def test_every_stack_uses_only_known_arguments(stacks, env_name, schema):
    mine = {name: s for name, s in stacks.items() if name.startswith(f"payment-{env_name}-")}
    assert mine, f"no stacks synthesized for {env_name}"
    problems = [p for name, s in mine.items() for p in validate_stack(name, s.json, schema)]
    assert problems == [], "\n".join(map(str, problems))


def test_schema_matches_installed_provider(schema):
    assert schema.provider_version == "21.22.1"
    service = schema.arguments(schema.roots[("resource", "aws_ecs_service")])
    assert service["task_definition"] is None
    assert service["deployment_controller"][0] == "block"
    controller = schema.arguments(service["deployment_controller"][1])
    assert set(controller) == {"type"}
    assert ("data", "aws_caller_identity") in schema.roots
    assert ("provider", "aws") in schema.roots


def _unit_stack_json(configure) -> dict:
    app = CdktfTesting.app()
    stack = TerraformStack(app, "unit")
    aws.provider.AwsProvider(stack, "aws", region="eu-west-1")
    service = aws.ecs_service.EcsService(
        stack,
        "service",
        name="payments",
        deployment_controller=aws.ecs_service.EcsServiceDeploymentController(type="CODE_DEPLOY"),
    )
    configure(service)
    return json.loads(CdktfTesting.synth(stack))


def _paths(problems: list[Problem]) -> list[tuple[str, str]]:
    return [(p.address, p.path) for p in problems]


def test_correct_escape_hatch_passes(schema):
    stack = _unit_stack_json(
        lambda s: s.add_override("lifecycle.ignore_changes", ["task_definition"])
    )
    assert validate_stack("unit", stack, schema) == []


def test_misspelled_top_level_override_is_caught(schema):
    stack = _unit_stack_json(lambda s: s.add_override("deployment_controler.type", "CODE_DEPLOY"))
    problems = validate_stack("unit", stack, schema)
    assert _paths(problems) == [("aws_ecs_service.service", "deployment_controler")]
    assert "did you mean 'deployment_controller'" in str(problems[0])
    assert str(problems[0]).startswith("unit: aws_ecs_service.service")


def test_misspelled_nested_override_is_caught(schema):
    stack = _unit_stack_json(
        lambda s: s.add_override("network_configuration.security_group", ["sg-1"])
    )
    problems = validate_stack("unit", stack, schema)
    assert _paths(problems) == [("aws_ecs_service.service", "network_configuration.security_group")]


def test_misspelled_list_block_and_dynamic_content_are_caught(schema):
    stack = {
        "resource": {
            "aws_ecs_service": {
                "svc": {
                    "name": "x",
                    "load_balancer": [{"container_name": "app"}, {"container_nam": "app"}],
                    "dynamic": {
                        "ordered_placement_strategy": {
                            "for_each": "${var.x}",
                            "content": {"fieldd": "cpu"},
                        }
                    },
                }
            }
        }
    }
    assert _paths(validate_stack("s", stack, schema)) == [
        ("aws_ecs_service.svc", "load_balancer[1].container_nam"),
        ("aws_ecs_service.svc", "dynamic.ordered_placement_strategy.content.fieldd"),
    ]


def test_meta_arguments_and_free_form_maps_are_allowed(schema):
    stack = {
        "resource": {
            "aws_sqs_queue": {
                "q": {
                    "//": {"metadata": {}},
                    "name": "q",
                    "tags": {"any-key": "is fine"},
                    "count": 2,
                    "depends_on": ["aws_sqs_queue.other"],
                    "lifecycle": {"prevent_destroy": True},
                    "provider": "aws.other",
                }
            }
        },
        "data": {"terraform_remote_state": {"up": {"backend": "s3", "config": {"bucket": "b"}}}},
    }
    assert validate_stack("s", stack, schema) == []


def test_unknown_types_and_provider_arguments_are_caught(schema):
    stack = {
        "resource": {"aws_ecs_servic": {"x": {}}},
        "data": {"aws_caller_identit": {"me": {}}},
        "provider": {"aws": [{"region": "eu-west-1", "default_tags": [{"tag": {}}]}]},
    }
    problems = validate_stack("s", stack, schema)
    assert _paths(problems) == [
        ("aws_ecs_servic.x", ""),
        ("data.aws_caller_identit.me", ""),
        ("provider.aws[0]", "default_tags[0].tag"),
    ]
    assert "did you mean 'aws_ecs_service'" in str(problems[0])


def _mini_assembly() -> dict:
    prefix = "@cdktf/provider-aws."

    def prop(name, anchor, type_ref):
        return {
            "name": name,
            "type": type_ref,
            "docs": {
                "summary": f"Docs at Terraform Registry: {{@link https://x/docs#{anchor} X#{anchor}}}."
            },
        }

    return {
        "version": "0.0.0",
        "types": {
            f"{prefix}thing.Thing": {
                "kind": "class",
                "base": "cdktf.TerraformResource",
                "docs": {
                    "summary": "Represents a {@link https://registry.terraform.io/providers/hashicorp/aws/6.25.0/docs/resources/thing aws_thing}."
                },
                "initializer": {
                    "parameters": [
                        {"name": "config", "type": {"fqn": f"{prefix}thing.ThingConfig"}}
                    ]
                },
            },
            f"{prefix}thing.ThingConfig": {
                "datatype": True,
                "interfaces": ["cdktf.TerraformMetaArguments"],
                "properties": [
                    prop("selfAttribute", "self", {"primitive": "string"}),
                    prop(
                        "rule",
                        "rule",
                        {
                            "union": {
                                "types": [
                                    {"fqn": "cdktf.IResolvable"},
                                    {
                                        "collection": {
                                            "kind": "array",
                                            "elementtype": {"fqn": f"{prefix}thing.ThingRule"},
                                        }
                                    },
                                ]
                            }
                        },
                    ),
                    prop(
                        "byLocale",
                        "by_locale",
                        {
                            "collection": {
                                "kind": "map",
                                "elementtype": {"fqn": f"{prefix}thing.ThingRule"},
                            }
                        },
                    ),
                ],
            },
            f"{prefix}thing.ThingRule": {
                "datatype": True,
                "properties": [
                    prop("nested", "nested", {"fqn": f"{prefix}thing.ThingRule"}),
                ],
            },
        },
    }


def test_builder_reads_anchors_unions_and_maps():
    assembly = _mini_assembly()
    schema = build_schema(assembly)
    root = schema.arguments(schema.roots[("resource", "aws_thing")])
    assert root == {
        "self": None,
        "rule": ["block", "thing.ThingRule"],
        "by_locale": ["map", "thing.ThingRule"],
    }
    assert schema.arguments("thing.ThingRule") == {"nested": ["block", "thing.ThingRule"]}
    bad = {"resource": {"aws_thing": {"t": {"by_locale": {"en": {"nestd": {}}}}}}}
    assert _paths(validate_stack("s", bad, schema)) == [("aws_thing.t", "by_locale['en'].nestd")]


def test_misspelled_ignore_changes_entry_is_caught(schema):
    stack = _unit_stack_json(
        lambda s: s.add_override("lifecycle.ignore_changes", ["task_definition", "load_balancers"])
    )
    problems = validate_stack("unit", stack, schema)
    assert _paths(problems) == [("aws_ecs_service.service", "lifecycle.ignore_changes[1]")]
    assert "did you mean 'load_balancer'" in str(problems[0])


def test_schema_is_cached_per_assembly(tmp_path, monkeypatch):
    import io
    import tarfile

    from guardrails import schema as module

    data = json.dumps(_mini_assembly()).encode()
    archive = tmp_path / "provider-aws@0.0.0.jsii.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("package/.jsii")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    monkeypatch.setenv(module.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(module, "assembly_path", lambda: archive)
    module.load_schema.cache_clear()
    try:
        built = module.load_schema()
        assert ("resource", "aws_thing") in built.roots
        assert len(list((tmp_path / "cache").glob("aws-schema-*.json"))) == 1

        def no_rebuild(_assembly):
            raise AssertionError("the cached table should have been used")

        monkeypatch.setattr(module, "build_schema", no_rebuild)
        module.load_schema.cache_clear()
        assert module.load_schema() == built
    finally:
        module.load_schema.cache_clear()  # later tests must get the real provider schema


def test_command_line_fails_on_problems_and_on_nothing_to_check(tmp_path, capsys):
    from guardrails.schema import main

    (tmp_path / "stacks").mkdir()
    assert main([str(tmp_path)]) == 2
    bad = tmp_path / "stacks" / "payment-dev-x"
    bad.mkdir()
    (bad / "cdk.tf.json").write_text(
        json.dumps({"resource": {"aws_sqs_queue": {"q": {"nam": "x"}}}})
    )
    assert main([str(tmp_path)]) == 1
    assert (
        "payment-dev-x: aws_sqs_queue.q at nam: unknown argument 'nam'" in capsys.readouterr().out
    )
    (bad / "cdk.tf.json").write_text(
        json.dumps({"resource": {"aws_sqs_queue": {"q": {"name": "x"}}}})
    )
    assert main([str(tmp_path)]) == 0
