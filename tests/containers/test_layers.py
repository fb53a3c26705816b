"""A child variant is its parent plus new layers: the parent's layers are reused, not rebuilt."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.docker


def test_child_image_starts_with_every_layer_of_its_parent(pool: Any, variant: str) -> None:
    parent = pool.matrix.variant(variant).parent
    if parent is None:
        pytest.skip(f"{variant} has no parent variant")
    # Building the child built the parent's stage too, so this is a cache hit.
    child_layers = pool.client.images.get(pool.image(variant)).attrs["RootFS"]["Layers"]
    parent_layers = pool.client.images.get(pool.image(parent)).attrs["RootFS"]["Layers"]
    assert child_layers[: len(parent_layers)] == parent_layers, (
        f"{variant} does not reuse {parent}'s layers: a lock or Dockerfile change made its "
        "parent stage differ from the parent image"
    )
    assert len(child_layers) > len(parent_layers), f"{variant} adds nothing to {parent}"
