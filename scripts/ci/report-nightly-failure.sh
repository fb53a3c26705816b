#!/usr/bin/env bash
# Turn a failed nightly rebuild into one open issue (a comment per further failure), so drift in
# base images or locks is seen by people, not only as a red mark in the Actions tab.
# Needs: GH_TOKEN with issues: write, GH_REPO (owner/name), RUN_URL (the failed run).
set -euo pipefail

: "${GH_REPO:?set GH_REPO to owner/name}"
: "${RUN_URL:?set RUN_URL to the failed workflow run}"
title="Nightly image rebuild failed"

echo "::error title=${title}::${RUN_URL}"
number=$(gh issue list --state open --search "in:title \"${title}\"" --json number --jq '.[0].number // empty')
if [[ -n $number ]]; then
  gh issue comment "$number" --body "Failed again: ${RUN_URL}"
else
  gh issue create --title "$title" --body "$(
    cat <<BODY
The scheduled rebuild failed: ${RUN_URL}

It rebuilds every image with fresh base images and no cache, runs the CPU image suites, and runs
\`invoke deps.lock --check\`. A failure there usually means an upstream image or package moved:
read the failed step, then fix the Dockerfile or refresh the locks (\`invoke deps.lock\`).
Close this issue when the nightly run is green again.
BODY
  )"
fi
