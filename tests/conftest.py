"""Shared pytest setup.

tests/image/ runs inside built images (via tests/containers/), never on the host directly;
tests/lint/ runs in the lint session, where the linters are installed.
"""

collect_ignore = ["image", "lint"]
