"""The performance benchmark (make bench) and its ablation shims."""
