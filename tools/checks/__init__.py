"""The checks make checks and make terrain-check run, and the documents they keep current."""
