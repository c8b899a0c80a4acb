"""What a change does before it is applied: plan review, review diff, per-environment plans."""
