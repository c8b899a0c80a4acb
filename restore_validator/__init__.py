"""The restore test's validator (docs/decisions.md D60).

``handler.py`` is the whole Lambda function: packaged from this directory by
``modules/restore_validator.py`` (cdktf ``TerraformAsset``), it imports
nothing but the standard library and boto3, which Lambda's Python runtime
ships.
"""
