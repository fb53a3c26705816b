"""`image` namespace (being implemented)."""

from invoke import Collection

ns = Collection("image")
