"""Architecture diagrams (#19): tools/diagrams/cli.py, docs/diagrams.md.

The model is built from the session's synthesis (no synthesis of its own)
and checked against the configuration under test (what holds for any
configuration); what needs particular values (names, the command's messages)
uses the example's synthesis. docs/diagrams/ shows the user's configuration,
so whether it is fresh is a check of ``make checks`` (``--check``), tested
here on the example in temporary directories, never on the committed docs;
one separate one-environment synthesis proves that a fourth service and a
second NAT gateway appear without a code change; one test renders.
"""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from config import load_environments
from tests.conftest import CONFIGURED, EXAMPLE
from tests.fixtures.example import DEV, ENVIRONMENTS
from tests.services_helpers import FOURTH
from tests.synth import synthesize
from tools.diagrams import DiagramError, cli, layout
from tools.diagrams import render as rendering
from tools.diagrams.cli import main
from tools.diagrams.extract import build_model
from tools.diagrams.layout import _zone, to_dot
from tools.diagrams.model import TIERS, Edge, Model, Node
from tools.diagrams.render import embedded_digest

ROOT = Path(__file__).resolve().parent.parent
STALE = "run `make diagram` and commit docs/diagrams/"


@pytest.fixture(scope="module")
def raw_stacks(stacks) -> dict[str, dict]:
    return {name: synthesized.json for name, synthesized in stacks.items()}


@pytest.fixture(scope="module")
def models(raw_stacks) -> dict[str, Model]:
    """The configuration under test's models."""
    return {env.name: build_model(raw_stacks, env.name) for env in CONFIGURED}


@pytest.fixture(scope="module")
def example_models(example_stacks, models) -> dict[str, Model]:
    """The example's models (the same objects when the configuration is the example)."""
    if CONFIGURED == EXAMPLE:
        return models
    raw = {name: synthesized.json for name, synthesized in example_stacks.items()}
    return {env.name: build_model(raw, env.name) for env in EXAMPLE}


def in_group(model: Model, group: str, kind: str | None = None) -> list[Node]:
    return sorted(
        (n for n in model.nodes.values() if n.group == group and kind in (None, n.kind)),
        key=lambda n: n.id,
    )


def edges(model: Model, kind: str) -> list[Edge]:
    return sorted((e for e in model.edges if e.kind == kind), key=lambda e: (e.source, e.target))


def service_groups(model: Model) -> dict[str, str]:
    """service name -> its group id."""
    return {
        g.label.removeprefix("service "): g.id for g in model.groups.values() if g.kind == "service"
    }


# -- freshness: `make checks` runs --check -----------------------------------------------
def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture
def drawn(tmp_path, example_synth_outdir, monkeypatch, capsys) -> Path:
    """The example's dev drawn into a temporary directory, as `make diagram`
    draws it (one view keeps it short: a PNG takes ~0.2 s)."""
    monkeypatch.setattr(layout, "VIEWS", layout.VIEWS[1:2])
    out = tmp_path / "diagrams"
    out.mkdir()
    args = ["--outdir", str(example_synth_outdir[0]), "--env", "dev", "--to", str(out)]
    assert main(args) == 0
    capsys.readouterr()
    return out


def check(outdir: Path, to: Path, *extra: str) -> int:
    return main(["--check", "--outdir", str(outdir), "--to", str(to), *extra])


def test_check_passes_on_fresh_diagrams_writes_nothing_and_needs_no_renderer(
    drawn, example_synth_outdir, monkeypatch, capsys
):
    def no_renderer():
        raise DiagramError("renderer: not installed (simulated)")

    monkeypatch.setattr(cli, "renderer", no_renderer)
    before = files(drawn)
    assert check(example_synth_outdir[0], drawn, "--env", "dev") == 0
    captured = capsys.readouterr()
    assert captured.out == f"diagram: {drawn} shows dev as synthesized\n"
    assert captured.err == ""
    assert files(drawn) == before


def _change_a_node(drawn: Path) -> None:
    model = json.loads((drawn / "dev.json").read_text())
    model["nodes"].pop()
    (drawn / "dev.json").write_text(json.dumps(model, indent=1, sort_keys=True) + "\n")


def _picture_of_another_model(drawn: Path) -> None:
    svg = drawn / f"dev-{layout.VIEWS[0].name}.svg"
    digest = embedded_digest(svg.read_bytes())
    svg.write_bytes(svg.read_bytes().replace(digest.encode(), b"0" * 64))


def _a_missing_picture(drawn: Path) -> None:
    (drawn / f"dev-{layout.VIEWS[0].name}.png").unlink()


@pytest.mark.parametrize(
    "make_stale, selection, found",
    [
        (
            _change_a_node,
            ["--env", "dev"],
            "dev.json differs (nodes: 1 new or changed, 0 gone); "
            "dev-network.svg, dev-network.png drawn from another model",
        ),
        (_picture_of_another_model, ["--env", "dev"], "dev-network.svg drawn from another model"),
        (_a_missing_picture, ["--env", "dev"], "dev-network.png missing"),
        # Every synthesized environment by default: prod and staging were never drawn.
        (None, [], "prod.json is missing; staging.json is missing"),
    ],
    ids=["model", "picture", "missing-picture", "missing-environment"],
)
def test_check_names_what_is_stale_in_one_line_and_the_fix(
    drawn, example_synth_outdir, capsys, make_stale, selection, found
):
    if make_stale is not None:
        make_stale(drawn)
    before = files(drawn)
    assert check(example_synth_outdir[0], drawn, *selection) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"diagram: {drawn} is stale: {found}; {STALE}\n"
    assert files(drawn) == before


# -- the model follows the Terraform, so configuration -----------------------------------
def test_every_configured_service_has_its_deployment_parts(models, env):
    model = models[env.name]
    groups = service_groups(model)
    assert sorted(groups) == sorted(s.name for s in env.services)
    for svc in env.services:
        group = groups[svc.name]
        (ecs,) = in_group(model, group, "ecs_service")
        assert ("FARGATE_SPOT" in " ".join(ecs.details)) == svc.use_spot, ecs.details
        assert len(in_group(model, group, "target_group_blue")) == 1
        assert len(in_group(model, group, "target_group_green")) == 1
        (deployment,) = in_group(model, group, "deployment_group")
        assert env.deployment.config_name.removeprefix("CodeDeployDefault.") in deployment.details
        (cloud_map,) = in_group(model, group, "cloud_map")
        assert cloud_map.details[0].startswith(f"{svc.name}.")
        (scaling,) = in_group(model, group, "autoscaling")
        assert scaling.title == f"autoscaling {svc.min_count}-{svc.max_count} tasks"
        # CPU, memory, requests per target, and the service's own metric if it has one.
        assert len(scaling.details) == 3 + (svc.custom_metric is not None)
        if svc.custom_metric is not None:
            # Metric math per running task (D58): named by its label.
            assert any(
                d.startswith(f"{svc.custom_metric.name} per running task") for d in scaling.details
            )
        for target_group in in_group(model, group, "target_group_blue") + in_group(
            model, group, "target_group_green"
        ):
            rules = [e for e in edges(model, "rule") if e.target == target_group.id]
            assert len(rules) == 1 and rules[0].label.startswith(svc.path_prefix), rules
            listener = model.nodes[rules[0].source]
            colour = target_group.kind.removeprefix("target_group_")
            assert (
                listener.kind == {"blue": "listener_production", "green": "listener_test"}[colour]
            )


def test_alarms_notify_the_topic_and_roll_back_where_configured(models, env):
    model = models[env.name]
    (topic,) = model.of_kind("topic")
    alarm_groups = model.of_kind("alarms")
    notified = {e.source for e in edges(model, "notifies") if e.target == topic.id}
    assert notified == {a.id for a in alarm_groups}
    rolled_back = {e.target for e in edges(model, "rolls_back")}
    deployment_groups = {n.id for n in model.of_kind("deployment_group")}
    assert rolled_back == (deployment_groups if env.deployment.rollback_on_alarm else set())


def test_network_tiers_zones_and_nat_routes(models, env):
    model = models[env.name]
    tiers = {g.label.split()[0]: g.id for g in model.groups.values() if g.kind == "tier"}
    assert sorted(tiers) == sorted(TIERS)
    zones = {
        t: sorted(n.title for n in in_group(model, g) if n.kind != "nat_gateway")
        for t, g in tiers.items()
    }
    assert zones["public"] == zones["private"] == zones["isolated"] == sorted(env.azs)
    nats = model.of_kind("nat_gateway")
    assert len(nats) == env.nat_gateway_count
    routes = [e for e in edges(model, "route") if e.target in {n.id for n in nats}]
    if env.nat_gateway_count == 1:
        assert [(e.source, e.target) for e in routes] == [(tiers["private"], nats[0].id)]
    else:
        assert len(routes) == 3
        for route in routes:
            assert model.nodes[route.source].title == _zone(model.nodes[route.target])
    (gateway,) = model.of_kind("internet_gateway")
    assert [e.source for e in edges(model, "route") if e.target == gateway.id] == [tiers["public"]]


def test_aurora_writer_and_readers_per_zone(models, env):
    model = models[env.name]
    (writer,) = model.of_kind("db_writer")
    assert "promotion tier 0" in writer.details
    readers = model.of_kind("db_reader")
    assert len(readers) == env.database.reader_count
    placed = {
        e.source: model.nodes[e.target] for e in edges(model, "placed") if e.target in model.nodes
    }
    for instance in (writer, *readers):
        assert placed[instance.id].kind == "subnet_isolated"
        assert placed[instance.id].title == instance.details[0]


def test_secrets_and_keys_show_who_reads_them(models, env):
    model = models[env.name]
    groups = service_groups(model)
    secret_keys = {
        e.source
        for e in edges(model, "encrypts")
        if e.target in model.nodes and model.nodes[e.target].kind == "secret"
    }
    assert secret_keys, "no key encrypts the secrets"
    for svc in env.services:
        roles = {n.id for n in in_group(model, groups[svc.name], "role")}
        read = {e.target for e in edges(model, "grant") if e.source in roles}
        titles = {model.nodes[r].title for r in read}
        assert {f"secret payment-{env.name}/{s}" for s in svc.secrets} <= titles
        assert bool(svc.secrets) == bool(read & secret_keys), (svc.name, titles)


def test_stacks_depend_as_cdktf_records_and_keep_state_in_the_bucket(models, env, synth_outdir):
    model = models[env.name]
    manifest = json.loads((synth_outdir[0] / "manifest.json").read_text())["stacks"]
    expected = {
        (f"{name}/stack", f"{upstream}/stack")
        for name, entry in manifest.items()
        if name.startswith(f"payment-{env.name}-")
        for upstream in entry["dependencies"]
    }
    assert {(e.source, e.target) for e in edges(model, "remote_state")} == expected
    (bucket,) = model.of_kind("state_bucket")
    assert bucket.title == f"S3 {env.state_bucket}"
    stored = {e.source for e in edges(model, "state") if e.target == bucket.id}
    local = {f"payment-{env.name}-bootstrap/stack"} if env.bootstrap_state == "local" else set()
    assert stored and stored == {n.id for n in model.of_kind("stack")} - local


def test_model_is_sorted_and_deterministic(models, raw_stacks, env_name):
    again = build_model(raw_stacks, env_name)
    assert again.text() == models[env_name].text()
    data = models[env_name].to_json()
    for section, key in (("groups", "id"), ("nodes", "id")):
        ids = [item[key] for item in data[section]]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)


# -- configuration, not code ---------------------------------------------------------------
@pytest.mark.app_synthesis  # synthesizes its own variant (D79)
def test_a_fourth_service_and_a_second_nat_gateway_appear(tmp_path):
    """One configuration change, one environment synthesized (its own app)."""
    dev = dataclasses.replace(DEV, services=DEV.services + (FOURTH,), nat_gateway_count=2)
    (dev,) = load_environments(
        ["dev"], defined=[dev, *(e for e in ENVIRONMENTS if e.name != "dev")]
    )
    _, stacks = synthesize([dev], tmp_path)
    model = build_model({name: s.json for name, s in stacks.items()}, "dev")
    groups = service_groups(model)
    assert sorted(groups) == sorted(s.name for s in dev.services) and FOURTH.name in groups
    # The same parts as a configured service (dev's three also allow ECS
    # Exec, so their task roles read the logs key: a role more).
    kinds = {n.kind for n in in_group(model, groups[FOURTH.name])}
    assert kinds == {n.kind for n in in_group(model, groups["transaction-processor"])}
    nats = {n.id for n in model.of_kind("nat_gateway")}
    assert len(nats) == 2 and nats <= {e.target for e in edges(model, "route")}
    assert f'label="service {FOURTH.name}"' in to_dot(model, layout.VIEWS[2])


# -- the command -------------------------------------------------------------------------
def test_render_writes_model_and_pictures_and_replaces_nothing_on_failure(
    tmp_path, example_synth_outdir, example_models, monkeypatch, capsys
):
    # One view keeps it short (a PNG takes ~0.2 s); `make checks` checks
    # every committed picture against its model (--check).
    monkeypatch.setattr(layout, "VIEWS", layout.VIEWS[1:2])
    outdir = str(example_synth_outdir[0])
    out = tmp_path / "diagrams"
    out.mkdir()
    assert main(["--outdir", outdir, "--env", "dev", "--to", str(out)]) == 0
    digest = example_models["dev"].digest()
    assert (out / "dev.json").read_text() == example_models["dev"].text()
    for view in layout.VIEWS:
        svg = (out / f"dev-{view.name}.svg").read_bytes()
        png = (out / f"dev-{view.name}.png").read_bytes()
        assert ElementTree.fromstring(svg).tag.endswith("svg")
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert embedded_digest(svg) == embedded_digest(png) == digest
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    real_render, calls = rendering.render, []

    def fails_on_the_first_png(dot, fmt, binary):
        calls.append(fmt)
        if len(calls) == 2:  # the first PNG: the SVG before it is never written either
            raise DiagramError("graphviz-pure -Tpng: failed (simulated)")
        return real_render(dot, fmt, binary)

    monkeypatch.setattr(rendering, "render", fails_on_the_first_png)
    monkeypatch.setattr(Model, "text", lambda self: "changed\n")
    assert main(["--outdir", outdir, "--env", "dev", "--to", str(out)]) == 2
    assert "simulated" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--outdir", "{tmp}/nothing"], "--outdir: {tmp}/nothing has no synthesized stacks"),
        (
            ["--env", "qa"],
            "--env: 'qa' is not in the synthesized stacks; allowed: dev, prod, staging",
        ),
        (["--to", "{tmp}/missing"], "--to: {tmp}/missing is not a directory"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    arguments, message, tmp_path, example_synth_outdir, capsys
):
    out = tmp_path / "out"
    out.mkdir()
    defaults = ["--outdir", str(example_synth_outdir[0]), "--to", str(out)]
    given = [a.replace("{tmp}", str(tmp_path)) for a in arguments]
    assert main(defaults + given) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"diagram: {message.replace('{tmp}', str(tmp_path))}"), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert list(out.iterdir()) == []
