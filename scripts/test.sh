#!/usr/bin/env bash
# Find (or start) PostgreSQL and Redis, make sure python3 can import aiosmtpd
# (and the test peers icalendar, standardwebhooks and scim2-client, and the OpenID provider the
# SSO tests start: `npm ci` in scripts/oidc)
# (the SMTP server the email tests start) and moto (an S3 server the storage
# tests start) and that s3s-fs (the other one) is installed, then run the test
# suite with cargo-nextest. Extra arguments go to `cargo nextest run`.
#
#   scripts/test.sh [NEXTEST ARGS...]
#
# Also starts a PostgreSQL with pgvector for the vector search tests (start_pgvector_pg in
# scripts/lib.sh) unless GUILD_TEST_PGVECTOR_URL names one.
#
# Honours GUILD_TEST_DATABASE_URL / DATABASE_URL, REDIS_URL, GUILD_TEST_PGVECTOR_URL, GUILD_LOCAL_PG_PORT,
# GUILD_LOCAL_PG_DIR, GUILD_LOCAL_REDIS_PORT; GUILD_TEST_DRY_RUN=1 prints the
# services it would use and stops before cargo.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$GUILD_ROOT"

MACHINE_PG_URL="postgres://postgres@127.0.0.1:5432/postgres"

# A server on 5432 is only useful if we can log in as postgres and create databases.
machine_pg_usable() {
  pg_answers 127.0.0.1:5432 && pg_can_create_databases "$MACHINE_PG_URL"
}

# Start the distribution's own cluster(s) on port 5432 if they are merely stopped.
start_machine_pg() {
  if ! have pg_lsclusters || ! have pg_ctlcluster; then
    return 1
  fi
  local -a redirect=()
  # Without a running systemd, pg_ctlcluster must not hand over to systemctl.
  [[ -d /run/systemd/system ]] || redirect=(--skip-systemctl-redirect)
  local version cluster port status started=""
  while read -r version cluster port status _; do
    [[ "$port" == 5432 && "$status" == down* ]] || continue
    log "Starting the machine's PostgreSQL cluster $version/$cluster"
    if pg_ctlcluster "${redirect[@]}" "$version" "$cluster" start >&2; then
      started=1
    else
      warn "could not start cluster $version/$cluster"
    fi
  done < <(pg_lsclusters -h 2>/dev/null)
  [[ -n "$started" ]]
}

# --- PostgreSQL -------------------------------------------------------------
if [[ -n "${GUILD_TEST_DATABASE_URL:-}" ]]; then
  # The test kit prefers this over DATABASE_URL.
  pg_source="GUILD_TEST_DATABASE_URL"
  pg_url="$GUILD_TEST_DATABASE_URL"
elif [[ -n "${DATABASE_URL:-}" ]]; then
  pg_source="DATABASE_URL"
  pg_url="$DATABASE_URL"
elif machine_pg_usable; then
  pg_source="machine server on 5432"
  pg_url="$MACHINE_PG_URL"
elif start_machine_pg && _wait_for 15 pg_answers 127.0.0.1:5432 &&
  pg_can_create_databases "$MACHINE_PG_URL"; then
  pg_source="machine server on 5432 (started)"
  pg_url="$MACHINE_PG_URL"
else
  start_local_pg
  pg_source="project-local cluster ($LOCAL_PG_DATA)"
  pg_url="$LOCAL_PG_URL/postgres"
fi
export DATABASE_URL="${DATABASE_URL:-$pg_url}"
if [[ "$pg_source" == *URL ]] && ! pg_answers "$pg_url"; then
  warn "nothing answers at $pg_source=$(redact_url "$pg_url"); database tests will fail"
fi

# --- Redis ------------------------------------------------------------------
if [[ -n "${REDIS_URL:-}" ]]; then
  redis_source="REDIS_URL"
  redis_answers "$REDIS_URL" ||
    warn "nothing answers at REDIS_URL=$(redact_url "$REDIS_URL"); Redis tests will fail"
elif redis_answers 127.0.0.1:6379; then
  redis_source="machine server on 6379"
  REDIS_URL="redis://127.0.0.1:6379"
else
  start_local_redis
  redis_source="project-local Redis"
  REDIS_URL="$LOCAL_REDIS_URL"
fi
export REDIS_URL

# --- PostgreSQL with pgvector (the vector search tests) ------------------------
if [[ -n "${GUILD_TEST_PGVECTOR_URL:-}" ]]; then
  pgvector_source="GUILD_TEST_PGVECTOR_URL"
elif [[ "${GUILD_TEST_DRY_RUN:-}" == 1 ]]; then
  pgvector_source="would start one (pgserver $PGSERVER_VERSION, port $GUILD_LOCAL_PGVECTOR_PORT)"
  GUILD_TEST_PGVECTOR_URL="postgres://postgres@127.0.0.1:$GUILD_LOCAL_PGVECTOR_PORT/postgres"
else
  start_pgvector_pg
  pgvector_source="pgserver $PGSERVER_VERSION (PostgreSQL 16 + pgvector)"
  GUILD_TEST_PGVECTOR_URL="$PGVECTOR_URL/postgres"
fi
export GUILD_TEST_PGVECTOR_URL

log "Test services"
info "PostgreSQL  $(redact_url "$pg_url")   [$pg_source]"
info "Redis       $(redact_url "$REDIS_URL")   [$redis_source]"
info "pgvector    $(redact_url "$GUILD_TEST_PGVECTOR_URL")   [$pgvector_source]"
if aiosmtpd_importable; then
  info "SMTP        python3 -m aiosmtpd, started by each email test"
else
  info "SMTP        aiosmtpd is not installed yet"
fi
if moto_importable && s3s_fs_path >/dev/null; then
  info "S3          python3 -m moto.server and s3s-fs, started by each storage test"
else
  info "S3          moto and/or s3s-fs are not installed yet"
fi

if test_peers_importable; then
  info "Peers       python3 icalendar, standardwebhooks and scim2-client"
else
  info "Peers       icalendar, standardwebhooks and/or scim2-client are not installed yet"
fi

if oidc_provider_installed; then
  info "OpenID      node scripts/oidc/provider.mjs (oidc-provider), started by each SSO test"
else
  info "OpenID      oidc-provider is not installed yet (scripts/oidc)"
fi

if [[ "${GUILD_TEST_DRY_RUN:-}" == 1 ]]; then
  oidc_provider_installed ||
    info "GUILD_TEST_DRY_RUN=1: would install oidc-provider (npm ci in scripts/oidc)"
  test_peers_importable ||
    info "GUILD_TEST_DRY_RUN=1: would install ${TEST_PEER_PACKAGES[*]} (python3 -m pip install)"
  aiosmtpd_importable ||
    info "GUILD_TEST_DRY_RUN=1: would install aiosmtpd (python3 -m pip install aiosmtpd)"
  moto_importable ||
    info "GUILD_TEST_DRY_RUN=1: would install moto (python3 -m pip install 'moto[server]')"
  s3s_fs_path >/dev/null ||
    info "GUILD_TEST_DRY_RUN=1: would install s3s-fs (cargo install s3s-fs@$S3S_FS_VERSION --features binary --locked)"
  info "GUILD_TEST_DRY_RUN=1: would run: cargo nextest run --workspace --no-fail-fast $*"
  exit 0
fi

ensure_aiosmtpd
ensure_moto
ensure_test_peers
ensure_oidc_provider
ensure_s3s_fs
ensure_nextest
exec cargo nextest run --workspace --no-fail-fast "$@"
