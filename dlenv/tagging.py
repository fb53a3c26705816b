"""Tags and OCI labels that say what is inside an image.

Tags are built by small "taggers", each answering one question about the build; adding a tag
is adding one function to TAGGERS.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

LABEL_PREFIX = "io.dl-env"
SOURCE_URL = "https://github.com/dl-env/dl-env"


@dataclass(frozen=True)
class BuildFacts:
    """Everything a tag or label is computed from; gathered once, before planning."""

    image_name: str
    variant: str
    description: str
    cuda: str
    python: str
    base_image: str
    created: datetime
    git_sha: str
    versions: dict[str, str]  # locked versions of the packages worth naming (torch, cudf, ...)

    @property
    def short_sha(self) -> str:
        return self.git_sha[:7] if self.git_sha else "nogit"


def _safe(text: str) -> str:
    """Docker tags allow [A-Za-z0-9_.-] only."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def tag_identity(facts: BuildFacts) -> str:
    """Moving alias for the newest build of this variant/line/Python: base-cuda12.8-py3.11."""
    return f"{facts.variant}-cuda{facts.cuda}-py{facts.python}"


def tag_torch(facts: BuildFacts) -> str | None:
    torch = facts.versions.get("torch")
    return f"{tag_identity(facts)}-torch{_safe(torch)}" if torch else None


def tag_immutable(facts: BuildFacts) -> str:
    """Never reused: the date and the git commit of the build."""
    return f"{tag_identity(facts)}-{facts.created:%Y%m%d}-{facts.short_sha}"


TAGGERS: tuple[Callable[[BuildFacts], str | None], ...] = (tag_identity, tag_torch, tag_immutable)


def tags(facts: BuildFacts) -> list[str]:
    names = []
    for tagger in TAGGERS:
        tag = tagger(facts)
        if tag and tag not in names:
            names.append(tag[:128])
    return [f"{facts.image_name}:{name}" for name in names]


def labels(facts: BuildFacts) -> dict[str, str]:
    oci = "org.opencontainers.image"
    result = {
        f"{oci}.title": f"{facts.image_name} {facts.variant}",
        f"{oci}.description": facts.description,
        f"{oci}.created": facts.created.isoformat(timespec="seconds"),
        f"{oci}.revision": facts.git_sha or "unknown",
        f"{oci}.version": tag_immutable(facts),
        f"{oci}.source": SOURCE_URL,
        f"{oci}.base.name": facts.base_image,
        f"{LABEL_PREFIX}.variant": facts.variant,
        f"{LABEL_PREFIX}.cuda": facts.cuda,
        f"{LABEL_PREFIX}.python": facts.python,
    }
    for package, version in sorted(facts.versions.items()):
        result[f"{LABEL_PREFIX}.version.{package}"] = version
    return result
