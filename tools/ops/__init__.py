"""Operations against AWS: the release wrapper, re-creating a service."""
