#!/bin/sh
# The "app" of cdktf.json: what `cdktf synth|diff|deploy` runs to synthesize.
#
# Runs main.py with the project's own environment (the locked .venv and the
# pinned Node.js 22 that `make setup` installs), never a global Python or a
# virtualenv that pipenv would create elsewhere. If set-up has not run, or
# the lock files changed since, it says in one line which command to run.
# It notes a missing terraform up front: `cdktf diff|deploy` would otherwise
# fail with only "execvp(3) failed.: No such file or directory".
root=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd) || exit 2
python="$root/.venv/bin/python"

if [ ! -x "$python" ] || [ ! -f "$root/.venv/.synced" ] || [ ! -f "$root/node_modules/.synced" ]; then
    echo "payment-platform: set-up has not run in $root; run 'make setup' there, then repeat this command" >&2
    exit 2
fi
if [ "$root/Pipfile.lock" -nt "$root/.venv/.synced" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.synced" ]; then
    echo "payment-platform: Pipfile.lock or package-lock.json changed since set-up; run 'make setup' in $root, then repeat this command" >&2
    exit 2
fi

terraform=${TERRAFORM_BINARY_NAME:-terraform}
if ! command -v "$terraform" >/dev/null 2>&1; then
    echo "payment-platform: terraform not found ('$terraform' is not on PATH): cdktf synth works without it, cdktf diff and deploy need Terraform >= 1.11 (install it, or set TERRAFORM_BINARY_NAME)"
fi

# The CLI removes the folders of stacks that are no longer synthesized after
# reading the manifest, and fails if they are already gone: leave them to it.
PAYMENT_RUN_BY_CDKTF_CLI=1
export PAYMENT_RUN_BY_CDKTF_CLI
exec "$python" "$root/main.py"
