#!/usr/bin/env bash
# GraphQL-over-HTTP conformance audit: the `graphql-http` audit suite against a real
# `talentgraph serve` on a free port with a throwaway SQLite data dir.
#
#   bash scripts/http_audit.sh            # exit 0 when every MUST audit passes
#   bash scripts/http_audit.sh --strict   # ... and every SHOULD audit too
#
# graphql-http is installed into a cache folder outside the repo (never node_modules here):
# ${HTTP_AUDIT_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/talentgraph/http-audit}. Pinned versions
# keep runs comparable; override with GRAPHQL_HTTP_VERSION. Needs node >= 18 (global fetch),
# npm on first run, and `talentgraph` on PATH (the repo's .venv is used when present).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
version="${GRAPHQL_HTTP_VERSION:-1.23.1}"
graphql_version="${GRAPHQL_JS_VERSION:-16.11.0}"
pkg_dir="${HTTP_AUDIT_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/talentgraph/http-audit}"

if [[ -x "$repo/.venv/bin/talentgraph" ]]; then
  PATH="$repo/.venv/bin:$PATH"
fi
command -v talentgraph >/dev/null || { echo "talentgraph is not on PATH" >&2; exit 2; }
command -v node >/dev/null || { echo "node is not on PATH" >&2; exit 2; }

# (a) graphql-http (and its graphql peer) in the cache folder; reinstall on a version change.
installed="$(node -p "require('$pkg_dir/node_modules/graphql-http/package.json').version" \
  2>/dev/null || true)"
if [[ "$installed" != "$version" ]]; then
  echo "installing graphql-http@$version into $pkg_dir" >&2
  mkdir -p "$pkg_dir"
  printf '{"name":"talentgraph-http-audit","private":true}\n' >"$pkg_dir/package.json"
  npm install --prefix "$pkg_dir" --no-audit --no-fund --silent \
    "graphql-http@$version" "graphql@$graphql_version" >&2
fi

# (b) the server, on a free port, with its own data dir.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
data_dir="$(mktemp -d "${TMPDIR:-/tmp}/talentgraph-audit.XXXXXX")"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$data_dir"
}
trap cleanup EXIT

# Only the data dir is set: DATABASE_URL etc. are cleared so the embedded SQLite default is
# used whatever the caller's environment holds.
env -u DATABASE_URL -u MIGRATION_DATABASE_URL -u REDIS_URL -u TALENTGRAPH_ENV \
  TALENTGRAPH_DATA_DIR="$data_dir" LOG_LEVEL=WARNING \
  talentgraph serve --host 127.0.0.1 --port "$port" >"$data_dir/server.log" 2>&1 &
server_pid=$!

base="http://127.0.0.1:$port"
for _ in $(seq 1 150); do
  if curl -fsS -o /dev/null "$base/healthz" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "talentgraph serve exited before it was healthy:" >&2
    cat "$data_dir/server.log" >&2
    exit 2
  fi
  sleep 0.2
done
if ! curl -fsS -o /dev/null "$base/healthz"; then
  echo "talentgraph serve was not healthy within 30s:" >&2
  tail -n 50 "$data_dir/server.log" >&2
  exit 2
fi

# (c) the audits; their exit code is ours. The trap stops the server.
status=0
node "$here/http_audit.mjs" "$base/graphql" "$pkg_dir" "$@" || status=$?
exit "$status"
