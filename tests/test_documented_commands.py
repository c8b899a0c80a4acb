"""Every command in the fenced code blocks of README.md and docs/*.md runs on
a fresh clone as written (docs/decisions.md D41).

A fresh clone has what the README promises (python3 3.11-3.13 with venv,
Node.js >= 18 with npm, make) and, after ``make synth`` / ``make cli``,
``.venv`` and ``node_modules``. Project tools run with ``.venv/bin/python``
or through make; pipenv lives in ``.tools/`` and is on no PATH.

Each command is classified, by the rules below, as one of:

* **refused**: it cannot run on a fresh clone (``pipenv run``, a bare
  ``python``/``pytest``, ...). The test fails, naming what to write instead.
* **executed**: run for real, as written, here (``EXECUTED``: cheap, offline,
  at most one per program); its exit code is checked.
* **resolved**: what it runs is checked without running it: ``make -n``
  succeeds for a make command; ``npx <bin>`` is provided by a package of
  package-lock.json; ``.venv/bin/python`` runs a file or module that exists;
  a pytest command names test files that exist and selects them (a module
  whose tests all carry a marker pytest.ini deselects needs ``-m``, else it
  collects nothing); a file run directly exists, is executable and its
  ``#!`` names an interpreter the README promises.

Besides, each project tool the docs run with ``.venv/bin/python tools/...``
or ``.venv/bin/python -m <package>`` (and each of its subcommands) answers
``--help`` once (all in one process, tests/help_runner.py), and that help
names every long option the docs give it: a broken entry point or a renamed
option fails.
* **exempt**: not run, for the reason its rule gives (needs AWS credentials or
  terraform, an example with its output, a synopsis). What it runs is still
  resolved when it is the project's own (make, npx, .venv, a repository file).

A command no rule classifies fails the test: a new command in the docs needs
a rule (or a row in ``EXECUTED``) here.
"""

from __future__ import annotations

import ast
import configparser
import importlib.util
import itertools
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests.cli_project import MAKE_VARIABLES

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))

# ------------------------------------------------------------------ extraction

SHELL_LANGUAGES = frozenset({"sh", "bash", "shell", "console", "shell-session", "zsh"})
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SEPARATORS = ("&&", "||", ";", "|")
_REDIRECTIONS = (">", ">>", "<", "2>", "&>")
#: Words of a usage synopsis: ``...``, ``[options]``, ``<stack>``.
_PLACEHOLDER = re.compile(r"(^|\s)(\.\.\.|\[[^\]\s]*\]|<[\w-]+>)(\s|$)")


@dataclass(frozen=True)
class Command:
    source: str  # "docs/release.md:352"
    text: str  # as written: continuation lines joined, comment stripped
    env: tuple[tuple[str, str], ...]  # VAR=value words before the program
    argv: tuple[str, ...]  # program and arguments, without redirections
    transcript: bool  # shown after a "$ " prompt, followed by its output

    @property
    def program(self) -> str:
        """What runs: ``make``, ``npx cdktf``, ``.venv/bin/python -m release``,
        ``.venv/bin/python tools/diagrams/cli.py``, ``tools/ops/run_release.py``."""
        head = self.argv[0]
        if head == "npx" and len(self.argv) > 1:
            return f"npx {self.argv[1]}"
        if head.endswith("/python") and len(self.argv) > 1:
            if self.argv[1] == "-m" and len(self.argv) > 2:
                return f"{head} -m {self.argv[2]}"
            return f"{head} {self.argv[1]}"
        return head


def fenced_blocks(text: str) -> Iterator[tuple[int, str, list[str]]]:
    """(line number of the first line, language, lines) of each fenced block."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        start = index + 1
        index = start
        while index < len(lines) and not lines[index].strip().startswith(fence):
            index += 1
        body = [line[indent:] if line[:indent].isspace() else line for line in lines[start:index]]
        yield start + 1, opening["lang"].lower(), body
        index += 1


def strip_comment(line: str) -> str:
    """``line`` without a shell comment (``#`` at a word's start, unquoted)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def is_shell(language: str, lines: list[str]) -> bool:
    """A labelled block by its language; an unlabelled one when it is a
    ``$`` transcript or its first word is a program (not a file list, an
    error message or other output)."""
    if language:
        return language in SHELL_LANGUAGES
    words = [line.split() for line in lines if line.strip() and not line.startswith("#")]
    if not words:
        return False
    if any(line.startswith("$ ") for line in lines):
        return True
    first = next((w for w in words[0] if not _ASSIGNMENT.match(w)), "")
    return (
        first in KNOWN_PROGRAMS
        or bool(_ANY_PYTHON.match(first))
        or first.startswith(("./", ".venv/", "tools/", ".ci/"))
    )


def logical_lines(lines: list[str], transcript: bool) -> Iterator[tuple[int, str]]:
    """(offset, line) of each command line, continuation lines joined; in a
    transcript only the lines after a ``$`` prompt (the rest is output)."""
    index = 0
    while index < len(lines):
        line, offset = lines[index], index
        index += 1
        if transcript:
            if not line.startswith("$ "):
                continue
            line = line[2:]
        while line.rstrip().endswith("\\") and index < len(lines):
            line = line.rstrip()[:-1] + " " + lines[index].strip()
            index += 1
        yield offset, line


def parse(text: str) -> Iterator[tuple[tuple[tuple[str, str], ...], tuple[str, ...]]]:
    """(env, argv) of each simple command in one shell line."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    words = list(lexer)
    segments: list[list[str]] = [[]]
    for word in words:
        if word in _SEPARATORS:
            segments.append([])
        else:
            segments[-1].append(word)
    for segment in segments:
        env, argv, skip = [], [], False
        for word in segment:
            if skip:
                skip = False
            elif word in _REDIRECTIONS:
                skip = True
            elif not argv and _ASSIGNMENT.match(word):
                name, _, value = word.partition("=")
                env.append((name, value))
            else:
                argv.append(word)
        if argv:
            yield tuple(env), tuple(argv)


def commands_in(text: str, source: str) -> list[Command]:
    found = []
    for first_line, language, lines in fenced_blocks(text):
        if not is_shell(language, lines):
            continue
        transcript = any(line.startswith("$ ") for line in lines)
        for offset, line in logical_lines(lines, transcript):
            written = strip_comment(line).strip()
            if not written:
                continue
            for env, argv in parse(written):
                found.append(
                    Command(
                        source=f"{source}:{first_line + offset}",
                        text=" ".join(written.split()),
                        env=env,
                        argv=argv,
                        transcript=transcript,
                    )
                )
    return found


def documented_commands() -> list[Command]:
    return [
        command
        for path in DOCS
        for command in commands_in(path.read_text(), str(path.relative_to(ROOT)))
    ]


# ------------------------------------------------------------------ classification

#: Programs a fresh clone does not have on PATH, or not with the project's
#: packages: what to write instead.
USE_VENV = "run .venv/bin/python ... from the repository root (docs/decisions.md D41)"
NOT_ON_A_FRESH_CLONE = {
    "pipenv": f"pipenv is installed into .tools/, not on PATH: {USE_VENV}",
    "python": f"Debian and Ubuntu have no `python`, and no system Python has the project's packages: {USE_VENV}",
    "python3": f"the system python3 has none of the project's packages: {USE_VENV}",
    "pytest": "pytest is installed into .venv, not on PATH: run .venv/bin/python -m pytest ...",
    "ruff": "ruff is installed into .venv, not on PATH: run make lint (or .venv/bin/ruff)",
    "mypy": "mypy is installed into .venv, not on PATH: run make lint (or .venv/bin/mypy)",
    "checkov": "checkov is installed into .venv, not on PATH: run make checks (or .venv/bin/checkov)",
    "pip": "nothing is installed into a system Python (PEP 668): make synth installs what is needed",
    "cdktf": "the CDKTF CLI is in node_modules, not on PATH: run npx cdktf ... after make cli",
}
_ANY_PYTHON = re.compile(r"^python3?(\.\d+)?$")


@dataclass(frozen=True)
class Rule:
    """Commands that are not run here, and why."""

    name: str
    applies: Callable[[Command], bool]
    reason: str


EXEMPT = (
    Rule(
        "transcript",
        lambda c: c.transcript,
        "an example shown with its output after a `$` prompt, not a step to follow",
    ),
    Rule(
        "synopsis",
        lambda c: bool(_PLACEHOLDER.search(c.text)),
        "a usage synopsis: its arguments are placeholders (`...`, `[options]`, `<name>`)",
    ),
    Rule(
        "cdktf against AWS",
        lambda c: c.argv[:3] in (("npx", "cdktf", "deploy"), ("npx", "cdktf", "diff")),
        "plans or applies against AWS: needs credentials and terraform (tests/test_cli_workflow.py "
        "runs the README's with a stand-in terraform)",
    ),
    Rule(
        "release against AWS",
        lambda c: c.argv[:3] == (".venv/bin/python", "-m", "release"),
        "a release or on-call command against AWS: needs credentials (tests/test_release_cli.py "
        "and tests/test_release_oncall.py run it against stand-ins)",
    ),
    Rule(
        "plan review",
        lambda c: c.argv[:2] == (".venv/bin/python", "tools/review/plan_review.py"),
        "reads the plans `make plan` writes with AWS credentials and terraform "
        "(tests/test_plan_review.py runs it on plans built there)",
    ),
    Rule(
        "GitHub API",
        lambda c: c.argv[:2] == ("make", "github-check"),
        "reads the repository's GitHub environments with a token (GITHUB_TOKEN): needs network "
        "and a real repository (tests/test_github_settings.py runs it on recorded responses)",
    ),
    Rule(
        "AWS CLI",
        lambda c: c.argv[0] == "aws",
        "the AWS CLI against an environment's account: needs credentials; AWS's tool, not the "
        "project's",
    ),
    Rule(
        "terraform against AWS",
        lambda c: c.argv[0] == "terraform",
        "terraform state, import or targeted apply in a synthesized stack directory against its S3 "
        "backend: needs AWS credentials (tests/test_recovery.py checks the addresses and stacks "
        "it names)",
    ),
    Rule(
        "shred",
        lambda c: c.argv[0] == "shred",
        "coreutils: deletes the local file holding the secret the command before it sent",
    ),
)

#: Run for real, as written: offline and quick, at most one per program.
#: Command text -> expected exit code.
EXECUTED = {
    ".venv/bin/python -m release --env prod --service payment-api --image-tag 1.4.2 --dry-run": 0,
}

#: What a fresh clone runs without a path, after make synth / make cli.
LAUNCHERS = frozenset({"make", "npx", "sh", "bash", "git"})
#: Interpreters a ``#!`` line may name: the README promises python3, and sh.
PROMISED_INTERPRETERS = frozenset({"sh", "bash", "python3"})
KNOWN_PROGRAMS = LAUNCHERS | set(NOT_ON_A_FRESH_CLONE) | {"aws", "shred", "terraform"}


@dataclass(frozen=True)
class Verdict:
    kind: str  # refused | executed | resolved | exempt | unclassified
    reason: str


def is_project_program(program: str) -> bool:
    """Run from the project (make, npx, .venv, a repository file), so it can
    be resolved here."""
    return (
        program in LAUNCHERS
        or program.startswith(("./", ".venv/"))
        or ("/" in program and not program.startswith("/"))
    )


def classify(command: Command) -> Verdict:
    program = command.argv[0]
    if program in NOT_ON_A_FRESH_CLONE:
        return Verdict("refused", NOT_ON_A_FRESH_CLONE[program])
    if _ANY_PYTHON.match(program):
        return Verdict("refused", NOT_ON_A_FRESH_CLONE["python"])
    if command.text in EXECUTED:
        return Verdict("executed", f"exit code {EXECUTED[command.text]} expected")
    for rule in EXEMPT:
        if rule.applies(command):
            return Verdict("exempt", rule.reason)
    if is_project_program(program):
        return Verdict("resolved", "what it runs exists on a fresh clone")
    return Verdict(
        "unclassified",
        f"{program!r}: no rule classifies it; add one to tests/test_documented_commands.py",
    )


# ------------------------------------------------------------------ resolution


def clean_environment(extra: tuple[tuple[str, str], ...] = ()) -> dict[str, str]:
    """A user's shell: nothing of a parent make or of the test session's
    PAYMENT_* variables (the docs describe the shipped configuration)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in MAKE_VARIABLES and not key.startswith("PAYMENT_")
    }
    env.update(extra)
    return env


@cache
def make_dry_run(env: tuple[tuple[str, str], ...], args: tuple[str, ...]) -> str | None:
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", *args],
        cwd=ROOT,
        env=clean_environment(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode == 0:
        return None
    return f"make -n {' '.join(args)} failed: {done.stderr.strip().splitlines()[-1:]}"


@cache
def npm_bins() -> frozenset[str]:
    """Commands the packages of package-lock.json put in node_modules/.bin."""
    packages = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    return frozenset(
        name
        for path, package in packages.items()
        if path.count("node_modules/") == 1
        for name in (package.get("bin") or {})
    )


def interpreter(path: Path) -> str | None:
    """The program a ``#!`` line runs (``/usr/bin/env python3`` -> ``python3``)."""
    first = path.read_bytes().split(b"\n", 1)[0].decode(errors="replace")
    if not first.startswith("#!"):
        return None
    words = first[2:].split()
    if not words:
        return None
    if Path(words[0]).name == "env":
        words = [w for w in words[1:] if not w.startswith("-")]
    return Path(words[0]).name if words else None


def python_target(args: tuple[str, ...]) -> str | None:
    if not args or args[0] == "-c":
        return None
    if args[0] == "-m":
        module = args[1].split(".")[0] if len(args) > 1 else ""
        local = (ROOT / module / "__init__.py").is_file() or (ROOT / f"{module}.py").is_file()
        if module and (local or importlib.util.find_spec(module) is not None):
            return None
        return f"-m {module}: no such module in the repository or in .venv"
    if (ROOT / args[0]).is_file():
        return None
    return f"{args[0]} does not exist"


#: pytest options whose value is the next word (the others are flags or
#: ``--option=value``).
_PYTEST_VALUE_OPTIONS = frozenset(
    {"-m", "-k", "-p", "-c", "-o", "-W", "-n", "--deselect", "--ignore", "--rootdir"}
    | {"--maxfail", "--durations", "--tb", "--basetemp", "--confcutdir", "--junitxml"}
)
_MARKER_WORD = re.compile(r"[()]|[^\s()]+")


def pytest_arguments(argv: tuple[str, ...]) -> tuple[str, ...] | None:
    """The arguments of a pytest command, else None."""
    if argv[0] == ".venv/bin/pytest":
        return argv[1:]
    if argv[:3] == (".venv/bin/python", "-m", "pytest"):
        return argv[3:]
    return None


def marker_expression(args: tuple[str, ...]) -> str | None:
    """The last ``-m`` of ``args``: the one pytest applies."""
    expression = None
    for word, following in itertools.pairwise((*args, "")):
        if word == "-m":
            expression = following
        elif word.startswith("-m") and not word.startswith("--") and len(word) > 2:
            expression = word[2:]
    return expression


@cache
def configured_marker_expression(root: Path = ROOT) -> str | None:
    """The ``-m`` of pytest.ini's addopts (the fast suite's selection)."""
    ini = configparser.ConfigParser()
    ini.read(root / "pytest.ini")
    return marker_expression(tuple(shlex.split(ini.get("pytest", "addopts", fallback=""))))


def module_markers(path: Path) -> frozenset[str]:
    """The markers of a test module's ``pytestmark`` (one mark or a list),
    which every test of the module carries."""
    for statement in ast.parse(path.read_text()).body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "pytestmark"
            for target in statement.targets
        ):
            value = statement.value
            marks = value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]
            return frozenset(name for mark in marks if (name := _mark_name(mark)))
    return frozenset()


def _mark_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):  # pytest.mark.skipif(...)
        node = node.func
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "mark"
    ):
        return node.attr
    return None


def selects(expression: str, markers: frozenset[str]) -> bool:
    """Whether pytest's ``-m expression`` keeps a test carrying ``markers``
    (``and``, ``or``, ``not``, parentheses, marker names)."""
    words = _MARKER_WORD.findall(expression)
    python = " ".join(
        word if word in ("(", ")", "and", "or", "not") else str(word in markers) for word in words
    )
    return bool(eval(python, {"__builtins__": {}}))  # only True/False/and/or/not/()


def pytest_problem(args: tuple[str, ...], root: Path = ROOT) -> str | None:
    """None when every test file ``args`` names exists and the run's marker
    selection (its ``-m``, else pytest.ini's) keeps its tests."""
    named, value_follows = [], False
    for word in args:
        if value_follows:
            value_follows = False
        elif word in _PYTEST_VALUE_OPTIONS:
            value_follows = True
        elif not word.startswith("-"):
            named.append(word)
    expression = marker_expression(args) or configured_marker_expression(root)
    for word in named:
        path = root / word.split("::")[0]
        if not path.exists():
            return f"{word} does not exist"
        if path.is_file() and expression and not selects(expression, module_markers(path)):
            markers = sorted(module_markers(path))
            carried = f"are marked {', '.join(markers)}" if markers else "carry no marker"
            fix = f"add -m {markers[0]}" if markers else "change -m"
            return (
                f"{word}: its tests {carried}, which -m {expression!r} deselects, so the "
                f"command collects nothing from it (exit 5 when it is all); {fix}"
            )
    return None


def resolve(command: Command) -> str | None:
    """None when what ``command`` runs exists on a fresh clone, else why not."""
    program, args = command.argv[0], command.argv[1:]
    pytest_args = pytest_arguments(command.argv)
    if pytest_args is not None:
        return pytest_problem(pytest_args)
    if program == "make":
        return make_dry_run(command.env, args)
    if program == "npx":
        if args and args[0] in npm_bins():
            return None
        return (
            f"npx {args[:1]}: no package of package-lock.json provides it (npx would download one)"
        )
    if program in ("sh", "bash"):
        script = next((a for a in args if not a.startswith("-")), None)
        if script is None or (ROOT / script).is_file():
            return None
        return f"{script} does not exist"
    if program == "git":
        return None
    path = ROOT / program
    if not path.is_file():
        return f"{program} does not exist on a fresh clone (after make synth / make cli)"
    if program == ".venv/bin/python":
        return python_target(args)
    if program.startswith(".venv/bin/"):
        return None
    if not os.access(path, os.X_OK):
        return f"{program} is not executable: run it with its interpreter, e.g. .venv/bin/python"
    found = interpreter(path)
    if found not in PROMISED_INTERPRETERS:
        return (
            f"{program}'s #! names {found!r}, which the README does not promise "
            f"(allowed: {', '.join(sorted(PROMISED_INTERPRETERS))})"
        )
    return None


# ------------------------------------------------------------------ project tools' --help

_SUBCOMMAND = re.compile(r"^[a-z][a-z-]*$")
_LONG_OPTION = re.compile(r"^\[?(--[a-z][\w-]*)")


def project_tool(argv: tuple[str, ...]) -> tuple[str, ...] | None:
    """``(.venv/bin/python, tools/<x>.py)`` or ``(.venv/bin/python, -m,
    <package>)`` when ``argv`` runs a tool of the repository, else None."""
    if argv[0] != ".venv/bin/python" or len(argv) < 2:
        return None
    if argv[1].startswith("tools/") and argv[1].endswith(".py"):
        return argv[:2]
    if argv[1] == "-m" and len(argv) > 2:
        package = argv[2].split(".")[0]
        if (ROOT / package / "__init__.py").is_file() or (ROOT / f"{package}.py").is_file():
            return argv[:3]
    return None


def help_argv(argv: tuple[str, ...]) -> tuple[str, ...] | None:
    """The tool and its subcommand words (``release status``), then
    ``--help``; argparse prints the help of the subcommand, and a positional
    word before ``--help`` (a git ref) changes nothing."""
    tool = project_tool(argv)
    if tool is None:
        return None
    words = itertools.takewhile(lambda word: bool(_SUBCOMMAND.match(word)), argv[len(tool) :])
    return (*tool, *words, "--help")


def long_options(argv: tuple[str, ...]) -> set[str]:
    """``--env`` of ``--env prod``, ``--hook=X`` and ``[--deployment-id ID]``,
    up to a ``--`` that ends the options."""
    words = itertools.takewhile(lambda word: word != "--", argv)
    return {match[1] for word in words if (match := _LONG_OPTION.match(word))}


def help_problems(
    argv: tuple[str, ...], code: int, output: str, commands: list[Command]
) -> list[str]:
    """What is wrong with a tool's answer to ``argv`` (its ``--help``): a
    failure, or a long option of a documented command it does not name."""
    if code != 0:
        return [f"{' '.join(argv)}: exit {code}: {output.strip()[-300:]}"]
    return sorted(
        f"{command.source}: {option} is not in `{' '.join(argv)}`"
        for command in commands
        if help_argv(command.argv) == argv
        for option in long_options(command.argv)
        if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", output)
    )


# ------------------------------------------------------------------ the docs

COMMANDS = documented_commands()
HELP_RUNS = sorted(
    {
        run
        for command in COMMANDS
        if classify(command).kind != "refused" and (run := help_argv(command.argv))
    }
)


def run_helps(runs: list[tuple[str, ...]]) -> dict[str, list]:
    """tests/help_runner.py's answers to ``runs``: each as if run alone, the
    installed packages imported once, in one process."""
    done = subprocess.run(
        [".venv/bin/python", "tests/help_runner.py", json.dumps(runs)],
        cwd=ROOT,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@cache
def help_outputs() -> dict[tuple[str, ...], tuple[int, str]]:
    """Every ``--help`` of ``HELP_RUNS`` (one process: the suite's time)."""
    answers = run_helps(HELP_RUNS)
    return {run: (answers[" ".join(run)][0], answers[" ".join(run)][1]) for run in HELP_RUNS}


def test_the_docs_hold_commands_of_every_kind():
    kinds = {classify(c).kind for c in COMMANDS}
    assert {"executed", "resolved", "exempt"} <= kinds, kinds
    assert any(c.argv[:2] == ("make", "synth") for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=[f"{c.source} {c.program}" for c in COMMANDS])
def test_every_documented_command_runs_on_a_fresh_clone(command):
    verdict = classify(command)
    where = f"{command.source}: {command.text}"
    if verdict.kind in ("refused", "unclassified"):
        pytest.fail(f"{where}: {verdict.reason}", pytrace=False)
    if verdict.kind == "executed":
        done = subprocess.run(
            command.text,
            shell=True,
            cwd=ROOT,
            env=clean_environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        expected = EXECUTED[command.text]
        assert done.returncode == expected, f"{where}: exit {done.returncode}\n{done.stderr}"
        return
    assert verdict.reason.strip(), where
    if verdict.kind == "resolved" or is_project_program(command.argv[0]):
        problem = resolve(command)
        if problem:
            pytest.fail(f"{where}: {problem}", pytrace=False)


def test_executed_commands_are_in_the_docs_one_per_program():
    texts = {c.text: c for c in COMMANDS}
    assert set(EXECUTED) <= set(texts), set(EXECUTED) - set(texts)
    programs = [texts[text].program for text in EXECUTED]
    assert len(programs) == len(set(programs)), programs


@pytest.mark.parametrize("argv", HELP_RUNS, ids=[" ".join(run[1:-1]) for run in HELP_RUNS])
def test_every_documented_tool_answers_help_naming_its_documented_options(argv):
    code, output = help_outputs()[argv]
    problems = help_problems(argv, code, output, COMMANDS)
    assert not problems, "\n".join(problems)


def test_help_runs_cover_each_tool_and_subcommand_once():
    programs = {run[:-1] for run in HELP_RUNS}
    assert (".venv/bin/python", "-m", "release") in programs
    assert (".venv/bin/python", "-m", "release", "status") in programs
    assert (".venv/bin/python", "tools/ops/recreate_service.py") in programs
    assert all(run[1] != "-m" or run[2] != "pytest" for run in HELP_RUNS)  # not a project tool


def test_a_renamed_option_or_a_broken_entry_point_is_found():
    [command] = commands_in(
        "```sh\n.venv/bin/python tools/ops/x.py --env prod --with-target-groups [--dry-run]\n```\n",
        "x.md",
    )
    argv = (".venv/bin/python", "tools/ops/x.py", "--help")
    assert help_argv(command.argv) == argv
    help_text = "usage: x.py [-h] --env ENV [--with-target-group] [--dry-run]\n"
    assert help_problems(argv, 0, help_text, [command]) == [
        "x.md:2: --with-target-groups is not in `.venv/bin/python tools/ops/x.py --help`"
    ]
    assert help_problems(argv, 0, help_text + "  --with-target-groups\n", [command]) == []
    [broken] = help_problems(argv, 1, "ModuleNotFoundError: No module named 'x'\n", [command])
    assert broken.startswith(f"{' '.join(argv)}: exit 1: ModuleNotFoundError")


def test_the_help_runner_reports_a_tool_that_fails_to_start(tmp_path):
    tool = tmp_path / "tool.py"
    tool.write_text("import no_such_dependency\n")
    fine = tmp_path / "fine.py"
    fine.write_text("import sys\nprint('usage: fine.py', sys.argv[1:])\nsys.exit(0)\n")
    runs = [(".venv/bin/python", str(tool), "--help"), (".venv/bin/python", str(fine), "--help")]
    answers = run_helps(runs)
    code, output = answers[" ".join(runs[0])]
    assert code == 1 and "No module named 'no_such_dependency'" in output
    assert answers[" ".join(runs[1])] == [0, "usage: fine.py ['--help']\n"]


def test_help_runs_name_the_subcommand_and_stop_at_the_end_of_options():
    assert help_argv((".venv/bin/python", "-m", "release", "status", "--env", "prod")) == (
        ".venv/bin/python",
        "-m",
        "release",
        "status",
        "--help",
    )
    assert help_argv((".venv/bin/python", "tools/review/review_diff.py", "HEAD~1")) == (
        ".venv/bin/python",
        "tools/review/review_diff.py",
        "--help",
    )
    assert help_argv((".venv/bin/python", "-m", "pytest", "tests/x.py")) is None
    assert long_options(("--env", "prod", "--hook=A=B", "[--id", "d-...]", "--", "--not")) == {
        "--env",
        "--hook",
        "--id",
    }


def test_every_exemption_is_used_and_has_a_reason():
    used = {
        rule.name
        for c in COMMANDS
        for rule in EXEMPT
        if classify(c) == Verdict("exempt", rule.reason)
    }
    assert used == {rule.name for rule in EXEMPT}
    assert all(len(rule.reason) >= 30 for rule in EXEMPT)


# ------------------------------------------------------------------ the classifier


def classified(markdown: str) -> list[tuple[str, tuple[str, ...], str]]:
    return [(classify(c).kind, c.argv, c.text) for c in commands_in(markdown, "synthetic.md")]


@pytest.mark.parametrize(
    "line",
    [
        "pipenv run python -m release --env dev --service payment-api --image-tag v1",
        "python tools/review/review_diff.py HEAD~1",
        "python3 -m release --help",
        "python3.12 main.py",
        "pytest tests/test_snapshots.py --snapshot-update",
        "PAYMENT_ENVIRONMENTS=dev pipenv run python main.py",
        "cdktf deploy payment-dev-bootstrap",
    ],
)
def test_a_command_that_needs_what_a_fresh_clone_lacks_is_refused(line):
    for fence in ("```sh", "```bash", "```console", "```"):
        text = f"{fence}\n{line}\n```\n"
        assert [kind for kind, _, _ in classified(text)] == ["refused"], (fence, line)
    transcript = f"```\n$ {line}\nsome output\n```\n"
    assert [kind for kind, _, _ in classified(transcript)] == ["refused"]


def test_pipenv_run_in_a_doc_fails_the_docs_test():
    [command] = commands_in(
        "Release:\n\n   ```sh\n   pipenv run python -m release --env prod --service payment-api "
        "--image-tag 1.4.2 --dry-run\n   ```\n",
        "README.md",
    )
    with pytest.raises(pytest.fail.Exception, match="pipenv is installed into .tools/"):
        test_every_documented_command_runs_on_a_fresh_clone(command)


def test_variables_continuations_and_comments():
    text = (
        "```sh\n"
        "PAYMENT_ENVIRONMENTS=dev make synth   # one environment\n"
        "# a comment line\n"
        ".venv/bin/python -m release --env prod \\\n"
        "    --outputs 'a # b.json'   # not this\n"
        "make plan ENV=prod && .venv/bin/python tools/review/plan_review.py plans/prod/*.json > r.md\n"
        "```\n"
    )
    commands = commands_in(text, "x.md")
    assert [(c.env, c.argv) for c in commands] == [
        ((("PAYMENT_ENVIRONMENTS", "dev"),), ("make", "synth")),
        ((), (".venv/bin/python", "-m", "release", "--env", "prod", "--outputs", "a # b.json")),
        ((), ("make", "plan", "ENV=prod")),
        ((), (".venv/bin/python", "tools/review/plan_review.py", "plans/prod/*.json")),
    ]
    assert commands[1].source == "x.md:4"
    assert commands[1].text == ".venv/bin/python -m release --env prod --outputs 'a # b.json'"


def test_which_blocks_are_shell():
    blocks = {
        "```python\nimport os\n```\n": 0,
        "```yaml\nmake: synth\n```\n": 0,
        "```\nmain.py            builds the app\nconfig/            environments\n```\n": 0,
        "```\nError: Validation failed with the following errors:\n```\n": 0,
        "```\n.venv/bin/python -m release --help\n```\n": 1,
        "```console\n$ make synth\nsynthesized: ...\n```\n": 1,
        "```\n$ make synth\nsynthesized: a b c\n$ make checks\n```\n": 2,
    }
    for text, count in blocks.items():
        assert len(commands_in(text, "x.md")) == count, text


def test_a_command_of_no_rule_is_unclassified():
    assert classified("```sh\ncurl -fsSL https://example.com/install.sh | sh\n```\n")[0][0] == (
        "unclassified"
    )


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("make no-such-target", "make -n no-such-target failed"),
        ("tools/no_such_tool.py --help", "does not exist on a fresh clone"),
        ("tools/review/plan_env.py --help", "is not executable"),
        (".venv/bin/python tools/no_such_tool.py", "does not exist"),
        (".venv/bin/python -m no_such_module", "no such module"),
        ("npx no-such-bin", "no package of package-lock.json provides it"),
        ("sh tools/no_such_script.sh", "does not exist"),
    ],
)
def test_what_a_command_runs_must_exist(line, problem):
    [command] = commands_in(f"```sh\n{line}\n```\n", "x.md")
    assert classify(command).kind == "resolved"
    assert problem in (resolve(command) or "")


def test_a_pytest_command_names_test_files_that_exist_and_selects_them(tmp_path):
    (tmp_path / "pytest.ini").write_text(
        '[pytest]\naddopts = -ra -m "not aws_replay and not slow"\n'
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_plain.py").write_text("def test_a():\n    pass\n")
    (tmp_path / "tests" / "test_replay.py").write_text(
        "import pytest\n\npytestmark = pytest.mark.aws_replay\n\ndef test_a():\n    pass\n"
    )
    (tmp_path / "tests" / "test_both.py").write_text(
        "import pytest\n\npytestmark = [pytest.mark.aws_replay, pytest.mark.skipif(False, "
        "reason='')]\n"
    )

    def problem(line: str) -> str | None:
        [command] = commands_in(f"```sh\n{line}\n```\n", "x.md")
        assert classify(command).kind == "resolved"
        args = pytest_arguments(command.argv)
        assert args is not None
        return pytest_problem(args, root=tmp_path)

    assert problem(".venv/bin/python -m pytest tests/test_plain.py -q") is None
    assert problem(".venv/bin/python -m pytest -m aws_replay tests/test_replay.py") is None
    assert problem(".venv/bin/pytest -m 'aws_replay or slow' tests/test_both.py") is None
    assert problem(".venv/bin/pytest tests/test_plain.py::test_a -k a") is None
    deselected = problem(".venv/bin/python -m pytest tests/test_plain.py tests/test_replay.py -q")
    assert deselected is not None
    assert deselected.startswith("tests/test_replay.py: its tests are marked aws_replay")
    assert deselected.endswith("add -m aws_replay")
    assert "aws_replay" in (problem(".venv/bin/pytest tests/test_both.py") or "")
    assert "carry no marker" in (
        problem(".venv/bin/pytest -m aws_replay tests/test_plain.py") or ""
    )
    assert problem(".venv/bin/pytest tests/test_gone.py -q") == "tests/test_gone.py does not exist"
    assert problem(".venv/bin/python -m pytest tests/test_gone.py::test_a") == (
        "tests/test_gone.py::test_a does not exist"
    )
    assert selects("not (a or b) and c", frozenset({"c"}))
    assert not selects("not (a or b) and c", frozenset({"b", "c"}))


def test_a_shebang_must_name_a_promised_interpreter(tmp_path):
    for first, found in [
        ("#!/usr/bin/env python3", "python3"),
        ("#!/bin/sh", "sh"),
        ("#!/usr/bin/env python", "python"),
        ("#!/usr/bin/env -S python3 -u", "python3"),
    ]:
        script = tmp_path / "script"
        script.write_text(f"{first}\n")
        assert interpreter(script) == found
    assert "python" not in PROMISED_INTERPRETERS


# ------------------------------------------------------------------ the release wrapper


def test_the_release_wrapper_hands_over_to_the_project_python(tmp_path):
    """tools/ops/run_release.py, run by the python3 the README promises (here the
    interpreter .venv was built from, without the project's packages),
    re-runs itself with the project's .venv Python, or says what to run."""
    project = tmp_path / "project"
    (project / "tools" / "ops").mkdir(parents=True)
    wrapper = project / "tools" / "ops" / "run_release.py"
    wrapper.write_text((ROOT / "tools" / "ops" / "run_release.py").read_text())
    base_python = Path(sys.executable).resolve()  # not a venv: sys.prefix is its own

    not_set_up = subprocess.run(
        [base_python, wrapper, "--help"], capture_output=True, text=True, timeout=30
    )
    assert not_set_up.returncode == 2
    assert not_set_up.stderr == (
        f"run_release: set-up has not run in {project}; run 'make setup' there, then repeat "
        "this command\n"
    )

    stand_in = project / ".venv" / "bin" / "python"
    stand_in.parent.mkdir(parents=True)
    stand_in.write_text('#!/bin/sh\necho "project python: $*"\n')
    stand_in.chmod(0o755)
    handed = subprocess.run(
        [base_python, wrapper, "--env", "dev"], capture_output=True, text=True, timeout=30
    )
    assert handed.stdout == f"project python: {wrapper} --env dev\n", handed.stderr


def test_the_release_wrapper_runs_from_any_directory_through_its_shebang(tmp_path):
    started = time.monotonic()
    done = subprocess.run(
        [ROOT / "tools" / "ops" / "run_release.py", "--help"],
        cwd=tmp_path,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: .venv/bin/python -m release ")
    assert time.monotonic() - started < 10


# ------------------------------------------------------------------ the first deployment


def test_the_first_deployment_leads_with_make_targets_that_run_the_preflight():
    """README "First deployment" opens with one make target per step, each
    resolved like any documented make command, and each runs the preflight
    before its ``npx cdktf deploy`` (the baseline's finds an organization's
    controls before anything is applied: D50)."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("\n## First deployment")
    section = readme[start : readme.index("\n## ", start + 1)]
    first = next(c for c in commands_in(section, "README.md") if c.argv[0] in ("make", "npx"))
    steps = [c for c in commands_in(section, "README.md") if c.argv[0] == "make"][:3]
    assert first == steps[0]
    assert [c.argv[1] for c in steps] == ["bootstrap", "baseline", "deploy"]
    for command in steps:
        assert classify(command).kind == "resolved", command.text
        assert resolve(command) is None, command.text
        env = next(a for a in command.argv if a.startswith("ENV=")).removeprefix("ENV=")
        done = subprocess.run(
            ["make", "-n", "--no-print-directory", *command.argv[1:]],
            cwd=ROOT,
            env=clean_environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        lines = done.stdout.splitlines()
        preflight = lines.index(f".venv/bin/python -m verify.preflight --env {env}")
        deploy = next(i for i, line in enumerate(lines) if line.startswith("npx cdktf deploy"))
        assert preflight < deploy, (command.text, done.stdout)
