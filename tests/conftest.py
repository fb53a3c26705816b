"""Shared pytest setup. tests/image/ runs inside built images, never on the host directly."""

collect_ignore = ["image"]
