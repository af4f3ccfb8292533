#!/usr/bin/env bash
# Manage the project-local PostgreSQL cluster (and the local Redis, if the test
# script had to start one).
#
#   scripts/db.sh start   start the cluster and create the `guild` database
#   scripts/db.sh stop    stop the cluster and the project-local Redis
#   scripts/db.sh psql    open psql on the `guild` database
#   scripts/db.sh url     print the DATABASE_URL for the `guild` database
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$GUILD_ROOT"

case "${1:-}" in
  start)
    start_local_pg
    ensure_local_database guild
    info "DATABASE_URL=$LOCAL_PG_URL/guild"
    ;;
  stop)
    stop_local_pg
    stop_pgvector_pg
    stop_local_redis
    ;;
  psql)
    start_local_pg
    ensure_local_database guild
    exec "$(_pg_tool psql)" -h 127.0.0.1 -p "$GUILD_LOCAL_PG_PORT" -U postgres -d guild
    ;;
  url)
    _pg_locate
    printf '%s/guild\n' "$LOCAL_PG_URL"
    ;;
  *)
    die "usage: scripts/db.sh start|stop|psql|url"
    ;;
esac
