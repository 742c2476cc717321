#!/usr/bin/env bash
# Install, then run the API on the embedded default (SQLite, in-process jobs, demo tenant).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/talentgraph serve "$@"
