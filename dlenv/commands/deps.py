"""`deps` namespace (being implemented)."""

from invoke import Collection

ns = Collection("deps")
