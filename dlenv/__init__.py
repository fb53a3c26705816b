"""dl-env: GPU host setup, image matrix builds and in-image verification."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
