#!/usr/bin/env bash
# Install, start PostgreSQL and Redis if they are down, then lint and run the whole suite
# against SQLite and against the real PostgreSQL and Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi

.venv/bin/ruff check .
.venv/bin/lint-imports
.venv/bin/mypy
.venv/bin/python -m pytest --backend sqlite "$@"
.venv/bin/python -m pytest --backend postgres "$@"
