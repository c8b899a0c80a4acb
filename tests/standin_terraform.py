"""A stand-in ``terraform`` for running the real CDKTF CLI without AWS.

The CLI (``@cdktf/cli-core`` 0.21.0) calls, from the project root,
``version -json`` and ``-v``, and per stack, in ``cdktf.out/stacks/<id>``:
``init`` (in a pseudo-terminal), ``providers lock -platform=...`` when the
stack has no lock file, ``apply -auto-approve`` and ``output -json`` for
deploy, ``plan -input=false -out plan`` for diff. ``make plan``
(tools/review/plan_env.py) calls ``init -input=false``, ``plan -input=false
-lock-timeout=5m -out=PATH`` and ``show -json PATH``; ``show -json`` prints
the plan in Terraform's JSON output format, made from the stack's
``cdk.tf.json`` (tests/plan_json.py): every resource ``create`` until the
stack is applied, ``no-op`` after. This script answers those and refuses
anything else (exit 1, ``unexpected call``), so a changed CLI shows up in
the test. ``STANDIN_TERRAFORM_VERSION`` changes the version it reports.

It models what makes the order matter on AWS:

* ``init`` of a stack whose backend is S3 fails until the environment's
  bootstrap stack (the one that creates the bucket) has been applied;
* ``apply`` and ``plan`` of a stack fail until every stack whose remote
  state it reads (``terraform_remote_state``) has been applied.

Every call is appended to ``$STANDIN_TERRAFORM_DIR/calls.jsonl`` as one
JSON line under an exclusive lock (stacks without dependencies run at the
same time). Applied state keys are files in ``$STANDIN_TERRAFORM_DIR/applied``.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from pathlib import Path

VERSION = os.environ.get("STANDIN_TERRAFORM_VERSION", "1.11.4")
#: First line of a stand-in plan file (a real one is a zip archive).
PLAN_MARKER = "stand-in plan"
STATE = Path(os.environ["STANDIN_TERRAFORM_DIR"])


def record(args: list[str], outcome: str) -> None:
    line = (
        json.dumps(
            {
                "cwd": os.getcwd(),
                "args": args,
                "outcome": outcome,
                "tty": os.isatty(0),
                "time": time.time(),
            }
        )
        + "\n"
    )
    with open(STATE / "calls.jsonl", "a", encoding="utf-8") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        log.write(line)
        log.flush()
        fcntl.flock(log, fcntl.LOCK_UN)


def stack_config() -> dict:
    return json.loads(Path("cdk.tf.json").read_text())


def state_id(backend: dict) -> str:
    """Where a stack keeps its state: S3 key or local path, as a file name."""
    if "s3" in backend:
        return "s3-" + backend["s3"]["key"].replace("/", "_")
    return "local-" + Path(backend["local"]["path"]).name


def applied(identifier: str) -> bool:
    return (STATE / "applied" / identifier).exists()


def bucket_ready(bucket: str) -> bool:
    return (STATE / "buckets" / bucket).exists()


def fail(args: list[str], message: str) -> int:
    record(args, "failed: " + message)
    print(f"\nError: {message}\n", file=sys.stderr)
    return 1


def plan_output(args: list[str]) -> str | None:
    """Where ``plan`` writes its plan file, for the two calls we expect:
    the CLI's ``plan -input=false -out plan`` and make plan's
    ``plan -input=false -lock-timeout=5m -out=PATH``."""
    if args[1:] == ["-input=false", "-out", "plan"]:
        return "plan"
    if len(args) == 4 and args[1:3] == ["-input=false", "-lock-timeout=5m"]:
        if args[3].startswith("-out=") and len(args[3]) > 5:
            return args[3][5:]
    return None


def main(args: list[str]) -> int:
    if args in (["version", "-json"],):
        record(args, "ok")
        print(
            json.dumps(
                {
                    "terraform_version": VERSION,
                    "platform": "linux_amd64",
                    "provider_selections": {},
                    "terraform_outdated": False,
                }
            )
        )
        return 0
    if args in (["-v"], ["version"], ["--version"]):
        record(args, "ok")
        print(f"Terraform v{VERSION}\non linux_amd64")
        return 0
    if not Path("cdk.tf.json").exists():
        return fail(args, f"unexpected call outside a stack directory: {args}")
    config = stack_config()
    backend = config["terraform"]["backend"]
    command = args[0]
    if command == "init":
        if "s3" in backend and not bucket_ready(backend["s3"]["bucket"]):
            return fail(
                args,
                f"Failed to get existing workspaces: S3 bucket "
                f'"{backend["s3"]["bucket"]}" does not exist.',
            )
        (Path(".terraform")).mkdir(exist_ok=True)
        record(args, "ok")
        print("Initializing the backend...\nTerraform has been successfully initialized!")
        return 0
    if args[:2] == ["providers", "lock"] and any(a.startswith("-platform=") for a in args):
        record(args, "ok")
        return 0
    if command in ("apply", "plan"):
        if not Path(".terraform").is_dir():
            return fail(args, 'Backend initialization required, please run "terraform init"')
        upstream = config.get("data", {}).get("terraform_remote_state", {})
        missing = [
            name
            for name, source in upstream.items()
            if not applied(state_id({source["backend"]: source["config"]}))
        ]
        if missing:
            return fail(args, f"Unable to find remote state: {', '.join(sorted(missing))}")
    if command == "apply" and args[1:] in ([], ["-auto-approve"]):
        if "-auto-approve" not in args:
            print(
                "\nTerraform will perform the following actions:\n\nPlan: 0 to add, 0 to change, "
                "0 to destroy.\n\nDo you want to perform these actions?\n  Terraform will perform "
                "the actions described above.\n  Only 'yes' will be accepted to approve.\n",
                flush=True,
            )
            print("  Enter a value: ", end="", flush=True)
            answer = sys.stdin.readline().strip()
            if answer != "yes":
                record(args, f"cancelled: answer {answer!r}")
                print("\nApply cancelled.")
                return 1
        (STATE / "applied").mkdir(exist_ok=True)
        (STATE / "applied" / state_id(backend)).touch()
        for bucket in config.get("resource", {}).get("aws_s3_bucket", {}).values():
            if isinstance(bucket.get("bucket"), str):
                (STATE / "buckets").mkdir(exist_ok=True)
                (STATE / "buckets" / bucket["bucket"]).touch()
        record(args, "ok")
        print("\nApply complete! Resources: 0 added, 0 changed, 0 destroyed.\n")
        return 0
    plan_file = plan_output(args)
    if command == "plan" and plan_file is not None:
        record(args, "ok")
        is_applied = applied(state_id(backend))
        Path(plan_file).write_text(f"{PLAN_MARKER}\n{json.dumps({'applied': is_applied})}\n")
        print("\nNo changes. Your infrastructure matches the configuration.\n")
        return 0
    if args[:2] == ["show", "-json"] and len(args) == 3:
        lines = Path(args[2]).read_text().splitlines() if Path(args[2]).is_file() else []
        if not lines or lines[0] != PLAN_MARKER:
            return fail(args, f"Failed to read the given file as a state or plan file: {args[2]}")
        from plan_json import PlanBuilder  # beside this script

        record(args, "ok")
        print(json.dumps(PlanBuilder(config, applied=json.loads(lines[1])["applied"]).build()))
        return 0
    if args == ["output", "-json"]:
        record(args, "ok")
        print("{}")
        return 0
    return fail(args, f"unexpected call: {args}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
