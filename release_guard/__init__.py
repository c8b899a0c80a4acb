"""The server-side release check (docs/decisions.md D55).

``handler.py`` is the whole Lambda function: packaged from this directory by
``modules/release_guard.py`` (cdktf ``TerraformAsset``), it imports nothing
but the standard library and boto3, which Lambda's Python runtime ships.
"""
