#!/usr/bin/env bash
# Build and run the `guild` binary against a database, starting a project-local
# PostgreSQL when DATABASE_URL is not set.
#
#   scripts/run.sh [serve|worker|migrate|openapi] [ARGS...]   (default: serve)
#
# Honours DATABASE_URL, REDIS_URL, GUILD_HTTP_ADDR, GUILD_ENV, GUILD_LOCAL_PG_PORT,
# GUILD_LOCAL_PG_DIR and CARGO_* as usual.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$GUILD_ROOT"

command="serve"
case "${1:-}" in
  serve | worker | migrate | openapi)
    command="$1"
    shift
    ;;
esac

if [[ "$command" != openapi ]]; then
  if [[ -z "${DATABASE_URL:-}" ]]; then
    start_local_pg
    ensure_local_database guild
    export DATABASE_URL="$LOCAL_PG_URL/guild"
  elif ! pg_answers "$DATABASE_URL"; then
    warn "nothing answers at DATABASE_URL=$(redact_url "$DATABASE_URL")"
  fi
fi

log "Building guild"
# Ask cargo where the binary went rather than guessing the target directory.
bin="$(
  cargo build -p guild-api --bin guild --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*\/guild\)".*/\1/p' | tail -n 1
)"
[[ -n "$bin" && -x "$bin" ]] || die "cargo build did not report the guild binary"

if [[ "$command" == serve ]]; then
  addr="${GUILD_HTTP_ADDR:-0.0.0.0:8080}"
  host="${addr%:*}"
  port="${addr##*:}"
  case "$host" in
    "" | 0.0.0.0 | "[::]" | "::") host=localhost ;;
  esac
  base="http://$host:$port"
  log "Guild is starting"
  info "API        $base/v1"
  info "Docs       $base/docs"
  info "OpenAPI    $base/v1/openapi.json"
  info "Readiness  $base/readyz   (liveness $base/livez, metrics $base/metrics)"
  info "Database   $(redact_url "$DATABASE_URL")"
  info "Redis      $(redact_url "${REDIS_URL:-(not set)}")"
  info "Env        ${GUILD_ENV:-(default)}"
  info "Stop with Ctrl-C; 'make db-stop' stops the local database."
elif [[ "$command" != openapi ]]; then
  log "Running guild $command"
  info "Database   $(redact_url "$DATABASE_URL")"
fi

# On an empty development database, create the demo tenant and print how to sign in.
if [[ "$command" == serve && "${GUILD_ENV:-development}" =~ ^(development|dev)$ ]]; then
  "$bin" seed-demo || warn "could not create the demo tenant"
fi

# exec, so signals (Ctrl-C, SIGTERM) reach the server itself.
exec "$bin" "$command" "$@"
