"""Stacks: one set per environment, split by lifecycle."""
