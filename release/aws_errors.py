"""How the release tool reads an AWS error: its code and message, whether
the credentials are the problem, and the refusal (exit 3, nothing changed)
of a read-only call made before any write. Shared by the deployment, the
release role's session and the on-call commands.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from release.errors import ReleaseRefused

# ClientError codes that mean "these credentials cannot be used" (STS
# ExpiredToken(Exception), signature and unknown-key errors); never transient.
CREDENTIAL_ERROR_CODES = (
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "RequestExpired",
)


ACCESS_DENIED_CODES = ("AccessDenied", "AccessDeniedException")


def credential_problem(err: BaseException) -> str | None:
    """Why these credentials cannot be used, or None (other errors)."""
    from botocore import exceptions as bx

    credential_errors = tuple(
        getattr(bx, name)
        for name in (
            "NoCredentialsError",
            "PartialCredentialsError",
            "CredentialRetrievalError",
            "TokenRetrievalError",
            "SSOTokenLoadError",
            "UnauthorizedSSOTokenError",
            "RefreshWithMFAUnsupportedError",
        )
        if hasattr(bx, name)
    )
    if isinstance(err, credential_errors):
        return str(err)
    code, message = error_code(err)
    if isinstance(err, bx.ClientError) and code in CREDENTIAL_ERROR_CODES:
        return f"{code}: {message}"
    return None


def read_or_refuse(
    env_name: str,
    what: str,
    call: Callable,
    *,
    not_found: Mapping[str, str] | None = None,
    allow: tuple[str, ...] = (),
    **params,
):
    """A read-only call before any write; any failure refuses (exit 3,
    nothing changed), in one line that says why. Error codes in ``allow``
    answer None instead."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call(**params)
    except (ClientError, BotoCoreError) as err:
        code, _ = error_code(err)
        if code in allow:
            return None
        raise refusal(err, env_name, what, not_found=not_found) from None


def refusal(
    err: BaseException, env_name: str, what: str, *, not_found: Mapping[str, str] | None = None
) -> ReleaseRefused:
    """Why a call made before any write failed, as a refusal (exit 3)."""
    from botocore.exceptions import ClientError

    problem = credential_problem(err)
    code, message = error_code(err)
    if problem and isinstance(err, ClientError):
        return ReleaseRefused(
            f"{what}: AWS rejected the credentials ({problem}); refresh them "
            "and retry. Nothing was changed."
        )
    if problem:
        return ReleaseRefused(
            f"no usable AWS credentials ({problem}); log in for the {env_name} account "
            "(e.g. `aws sso login` or AWS_PROFILE) and retry. Nothing was changed."
        )
    if not_found and code in not_found:
        return ReleaseRefused(f"{not_found[code]}. Nothing was changed.")
    if code in ACCESS_DENIED_CODES:
        return ReleaseRefused(
            f"{what}: access denied ({message}); the release role needs this "
            "read permission. Nothing was changed."
        )
    if isinstance(err, ClientError):
        return ReleaseRefused(f"{what}: {code}: {message}. Nothing was changed.")
    return ReleaseRefused(f"{what}: {err}. Nothing was changed.")


def error_code(err: BaseException) -> tuple[str, str]:
    response = getattr(err, "response", None) or {}
    error = response.get("Error", {})
    return str(error.get("Code", type(err).__name__)), str(error.get("Message", err))
