"""PAY-SEC-001: no secret in a container's plain ``environment``.

Plain environment variables are stored in the task definition (readable
with ``ecs:DescribeTaskDefinition``), in Terraform state and in every
revision forever. Secrets go in ``secrets`` (``valueFrom`` a Secrets
Manager secret or SSM parameter), which the ECS agent resolves at start.

A variable is refused when its name looks like a secret (PASSWORD, SECRET,
TOKEN, API_KEY, ... anywhere in the name; PASS, PWD or PSK as a word)
unless its last word says it only locates one (``DB_SECRET_ARN``,
``TOKEN_URL``, ``PASSWORD_FILE``), or when its value looks like one
(an AWS access key id, a PEM private key, credentials in a URL, a Stripe,
GitHub or Slack token, a JWT, or a reference to an attribute that holds a
secret, such as ``secret_string`` or ``random_password.result``).
"""

from __future__ import annotations

import re

from guardrails.rules import containers
from guardrails.rules.model import Finding, Rule, RuleContext

#: Found anywhere in the name, once separators are removed and it is upper-cased.
SECRET_NAME_MARKERS = (
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "PRIVATEKEY",
    "CREDENTIAL",
    "ACCESSKEY",
    "AUTHKEY",
    "SIGNINGKEY",
    "ENCRYPTIONKEY",
    "SESSIONKEY",
    "MASTERKEY",
)
#: Found as a whole word of the name (too short to search inside words: BYPASS, COMPASS).
SECRET_NAME_WORDS = ("PASS", "PWD", "PSK")
#: Last words of names that point at a secret without holding it.
LOCATOR_WORDS = ("ARN", "NAME", "URL", "URI", "ENDPOINT", "PATH", "FILE")
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
#: What a secret value looks like -> how to say it.
SECRET_VALUES = (
    (re.compile(r"(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"), "an AWS access key id"),
    (re.compile(r"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----"), "a PEM private key"),
    (re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"), "a URL with a password"),
    (re.compile(r"(?<![A-Za-z0-9])[rs]k_(live|test)_[A-Za-z0-9]{10,}"), "a Stripe secret key"),
    (
        re.compile(r"(?<![A-Za-z0-9])(gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})"),
        "a GitHub token",
    ),
    (re.compile(r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\."), "a JWT"),
    # References (same stack, or cdktf's cross-stack outputs, which run the
    # type, name and attribute together) to attributes that hold a secret.
    (
        re.compile(
            r"\$\{.*(aws_secretsmanager_secret_version[.\w-]*secret_(string|binary)"
            r"|random_password[.\w-]*(result|bcrypt_hash)"
            r"|aws_iam_access_key[.\w-]*(secret|ses_smtp_password_v4)"
            r"|tls_private_key[.\w-]*private_key_(pem|openssh|pem_pkcs8)"
            r"|master_password)"
        ),
        "a reference to a secret attribute",
    ),
)


def secret_name(name: str) -> bool:
    words = [word.upper() for word in _WORDS.findall(name)]
    if not words or words[-1] in LOCATOR_WORDS:
        return False
    joined = "".join(words)
    return any(marker in joined for marker in SECRET_NAME_MARKERS) or any(
        word in SECRET_NAME_WORDS for word in words
    )


def secret_value(value) -> str | None:
    """What the value looks like, when it looks like a secret."""
    if value is None:
        return None
    text = str(value)
    for pattern, what in SECRET_VALUES:
        if pattern.search(text):
            return what
    return None


def _variables(environment) -> list[tuple[str, object]]:
    if isinstance(environment, dict):
        return [(str(k), v) for k, v in environment.items()]
    if not isinstance(environment, list):
        return []
    return [
        (str(item.get("name", "")), item.get("value"))
        for item in environment
        if isinstance(item, dict)
    ]


def judge(environment) -> list[str]:
    problems = []
    for name, value in _variables(environment):
        looks_like = secret_value(value)
        if looks_like is not None:
            problems.append(f"has {looks_like} in environment variable {name}")
        elif secret_name(name):
            problems.append(f"has secret-looking environment variable {name}")
    return problems


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    return containers.findings(RULE, stack, "environment", judge)


RULE = Rule(
    id="PAY-SEC-001",
    summary="No container has a secret-looking name or value in its plain environment.",
    why="Plain environment variables are stored in the task definition, readable by anyone "
    "with ecs:DescribeTaskDefinition, in every revision and in Terraform state "
    "(PCI DSS 8.3.2).",
    fix="move it to the container's secrets (name + valueFrom = a Secrets Manager secret ARN); "
    "the ECS agent injects it at start",
    check=check,
)
