"""GitHub Actions' OIDC identity provider in an account, and the trust
policy that lets one workflow subject of one repository assume a role
(docs/ci.md, "Identities").

IAM holds one provider per URL per account: environments sharing an
account create it once (``PipelineConfig.creates_github_oidc_provider``)
and the others look it up.
"""

from __future__ import annotations

from dataclasses import dataclass

from framework import Construct
from framework.aws import aws
from modules import iam

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
#: The audience aws-actions/configure-aws-credentials asks GitHub for.
STS_AUDIENCE = "sts.amazonaws.com"


def pull_request_subject(repository: str) -> str:
    """OIDC ``sub`` of a job without a GitHub environment in a pull request."""
    return f"repo:{repository}:pull_request"


def environment_subject(repository: str, environment: str) -> str:
    """OIDC ``sub`` of a job running in the GitHub environment ``environment``
    (GitHub docs, "About security hardening with OpenID Connect", example
    subject claims, filtering for a specific environment:
    https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect)."""
    return f"repo:{repository}:environment:{environment}"


def provider_arn(partition: str, account_id: str) -> str:
    """ARN of GitHub's OIDC provider in ``account_id`` (IAM names it by its
    URL without the scheme; one per account)."""
    return f"arn:{partition}:iam::{account_id}:oidc-provider/{GITHUB_OIDC_HOST}"


def web_identity_statement(provider_arn: str, subject: str) -> dict:
    """Trust statement: tokens of GitHub's provider whose audience is STS and
    whose subject is exactly ``subject`` (StringEquals: no pattern)."""
    return {
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {
                f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE,
                f"{GITHUB_OIDC_HOST}:sub": subject,
            }
        },
    }


def web_identity_trust(provider_arn: str, subject: str) -> str:
    """Trust policy of ``web_identity_statement`` alone."""
    return iam.document(web_identity_statement(provider_arn, subject))


@dataclass(frozen=True, kw_only=True)
class GitHubOidcProviderProps:
    """``create``: True creates the account's provider; False looks up the
    one that exists (created by another environment of the account or by
    the organization; the plan fails naming it when there is none)."""

    create: bool


class GitHubOidcProvider(Construct):
    """The account's GitHub OIDC provider, created or looked up; ``arn``."""

    def __init__(self, scope: Construct, construct_id: str, props: GitHubOidcProviderProps) -> None:
        super().__init__(scope, construct_id)
        if props.create:
            # No thumbprint: IAM trusts GitHub's issuer through its own root
            # certificate store (thumbprint_list is optional since AWS
            # provider 5.81).
            self.provider = aws.iam_openid_connect_provider.IamOpenidConnectProvider(
                self, "provider", url=GITHUB_OIDC_URL, client_id_list=[STS_AUDIENCE]
            )
            self.arn: str = self.provider.arn
        else:
            found = aws.data_aws_iam_openid_connect_provider.DataAwsIamOpenidConnectProvider(
                self, "provider", url=GITHUB_OIDC_URL
            )
            self.arn = found.arn
