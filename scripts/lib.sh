# shellcheck shell=bash
# Shared helpers for the scripts in this directory and for .ci/run.
# Source it; it defines functions and a few variables and runs nothing else.
#
# Environment it honours:
#   GUILD_LOCAL_PG_PORT     port of the project-local PostgreSQL cluster (55432)
#   GUILD_LOCAL_PG_DIR      parent directory for its data dir and log
#                           (default: <repo>/.data, or /var/tmp/guild-pg-<hash>
#                           when running as root and postgres cannot reach the repo)
#   GUILD_LOCAL_REDIS_PORT  port of the project-local Redis (56379)
#   GUILD_LOCAL_PGVECTOR_PORT  port of the PostgreSQL with pgvector the vector search tests
#                           use (55433; see start_pgvector_pg)

if [[ -n "${GUILD_LIB_SOURCED:-}" ]]; then
  return 0
fi
GUILD_LIB_SOURCED=1

GUILD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
GUILD_LOCAL_PG_PORT="${GUILD_LOCAL_PG_PORT:-55432}"
GUILD_LOCAL_REDIS_PORT="${GUILD_LOCAL_REDIS_PORT:-56379}"
GUILD_LOCAL_PGVECTOR_PORT="${GUILD_LOCAL_PGVECTOR_PORT:-55433}"
# The PyPI wheel whose PostgreSQL 16 and pgvector the vector search tests run on (Debian's
# archive has no pgvector for the machine's PostgreSQL).
PGSERVER_VERSION="0.1.4"

# Set by the functions below.
PG_BIN=""          # directory holding initdb, pg_ctl, psql, ...
LOCAL_PG_BASE=""   # directory holding the cluster's data dir and log
LOCAL_PG_DATA=""
LOCAL_PG_LOG=""
LOCAL_PG_OS_USER=""
LOCAL_PG_URL=""    # server URL without a database name
LOCAL_REDIS_URL=""
PGVECTOR_URL=""    # server URL (no database name) of the PostgreSQL with pgvector

# ---------------------------------------------------------------------------
# Logging

if [[ -t 2 && -z "${NO_COLOR:-}" ]]; then
  _c_dim=$'\e[2m' _c_yellow=$'\e[33m' _c_red=$'\e[31m' _c_bold=$'\e[1m' _c_off=$'\e[0m'
else
  _c_dim="" _c_yellow="" _c_red="" _c_bold="" _c_off=""
fi

# All log output goes to stderr so functions can still print values on stdout.
log() { printf '%s==>%s %s\n' "$_c_bold" "$_c_off" "$*" >&2; }
info() { printf '%s    %s%s\n' "$_c_dim" "$*" "$_c_off" >&2; }
warn() { printf '%swarning:%s %s\n' "$_c_yellow" "$_c_off" "$*" >&2; }
die() {
  printf '%serror:%s %s\n' "$_c_red" "$_c_off" "$*" >&2
  exit 1
}

have() { command -v "$1" >/dev/null 2>&1; }

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# A URL with any password replaced, for printing.
redact_url() {
  # shellcheck disable=SC2001 # a regex with a capture group is clearer than ${//}
  sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"
}

# ---------------------------------------------------------------------------
# Packages

_apt_updated=""

# apt_install PKG... — install Debian packages, as root or through sudo.
apt_install() {
  have apt-get || die "cannot install $* automatically (no apt-get); install it and retry"
  local -a sudo=()
  if ! is_root; then
    have sudo || die "installing $* needs root (or sudo); install it and retry"
    sudo=(sudo)
  fi
  log "Installing $* with apt-get"
  if [[ -z "$_apt_updated" ]]; then
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    _apt_updated=1
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "$@" >&2
}

ensure_nextest() {
  if cargo nextest --version >/dev/null 2>&1; then
    return 0
  fi
  log "Installing cargo-nextest (one-off)"
  cargo install cargo-nextest --locked
}

# Can python3 import aiosmtpd, the SMTP server the email tests start?
aiosmtpd_importable() { have python3 && python3 -c 'import aiosmtpd' >/dev/null 2>&1; }

# ensure_aiosmtpd — make aiosmtpd importable: pip first (python3 and pip from apt if missing),
# then Debian's python3-aiosmtpd when the system python3 refuses pip (PEP 668). Warns instead
# of failing: without it only the email tests fail.
ensure_aiosmtpd() {
  aiosmtpd_importable && return 0
  have python3 || (apt_install python3) || true
  python3 -m pip --version >/dev/null 2>&1 || (apt_install python3-pip) || true
  log "Installing the Python package aiosmtpd (SMTP server for the email tests)"
  if python3 -m pip install --quiet aiosmtpd >&2 && aiosmtpd_importable; then
    return 0
  fi
  if have apt-get && [[ "$(command -v python3)" == /usr/bin/python3 ]]; then
    (apt_install python3-aiosmtpd) || true
    aiosmtpd_importable && return 0
  fi
  warn "python3 cannot import aiosmtpd; the email tests will fail (install it: python3 -m pip install aiosmtpd)"
}

# Can python3 import moto's server, the S3 server the storage tests start?
moto_importable() { have python3 && python3 -c 'import moto.server' >/dev/null 2>&1; }

# ensure_moto — make moto[server] importable, the way ensure_aiosmtpd does for aiosmtpd (pip
# first, then Debian's python3-moto). Warns instead of failing: without it only the S3 tests fail.
ensure_moto() {
  moto_importable && return 0
  have python3 || (apt_install python3) || true
  python3 -m pip --version >/dev/null 2>&1 || (apt_install python3-pip) || true
  log "Installing the Python package moto[server] (S3 server for the storage tests)"
  if python3 -m pip install --quiet 'moto[server]' >&2 && moto_importable; then
    return 0
  fi
  if have apt-get && [[ "$(command -v python3)" == /usr/bin/python3 ]]; then
    (apt_install python3-moto python3-flask python3-flask-cors) || true
    moto_importable && return 0
  fi
  warn "python3 cannot import moto.server; the S3 tests will fail (install it: python3 -m pip install 'moto[server]')"
}

# The Python packages tests use as independent peers, each pinned: an iCalendar parser for the
# calendar files Guild writes, and the Standard Webhooks reference library that verifies its
# webhook signatures.
TEST_PEER_PACKAGES=("icalendar==7.3.2" "standardwebhooks==1.3.0" "scim2-client==0.13.2" "scim2-models==0.12.3" "httpx2==2.17.0")

# Can python3 import every test peer package?
test_peers_importable() {
  have python3 && python3 -c 'import icalendar, standardwebhooks, scim2_client, httpx2' >/dev/null 2>&1
}

# ensure_test_peers — pip-install the test peer packages (with --break-system-packages when the
# system python3 refuses pip otherwise, PEP 668). Warns instead of failing: without them only
# the tests that parse calendars or verify webhooks fail.
ensure_test_peers() {
  test_peers_importable && return 0
  have python3 || (apt_install python3) || true
  python3 -m pip --version >/dev/null 2>&1 || (apt_install python3-pip) || true
  log "Installing the Python test peers: ${TEST_PEER_PACKAGES[*]}"
  python3 -m pip install --quiet "${TEST_PEER_PACKAGES[@]}" >&2 ||
    python3 -m pip install --quiet --break-system-packages "${TEST_PEER_PACKAGES[@]}" >&2 || true
  test_peers_importable && return 0
  warn "python3 cannot import icalendar, standardwebhooks and scim2_client; the calendar, webhook and SCIM tests will fail (python3 -m pip install ${TEST_PEER_PACKAGES[*]})"
}

# The OpenID provider the single sign-on tests start (`oidc-provider` from npm, pinned by
# scripts/oidc/package-lock.json, run by scripts/oidc/provider.mjs with node).
oidc_provider_installed() {
  have node && [[ -f "$GUILD_ROOT/scripts/oidc/node_modules/oidc-provider/package.json" ]]
}

# ensure_oidc_provider — install node and npm when missing, then `npm ci` the provider into
# scripts/oidc/node_modules. Warns instead of failing: without it only the SSO tests fail.
ensure_oidc_provider() {
  oidc_provider_installed && return 0
  { have node && have npm; } || (apt_install nodejs npm) || true
  if have npm; then
    log "Installing the OpenID provider of the SSO tests (npm ci in scripts/oidc)"
    (cd "$GUILD_ROOT/scripts/oidc" && npm ci --no-audit --no-fund >&2) || true
  fi
  oidc_provider_installed && return 0
  warn "the OpenID provider is not installed; the sso tests will fail (cd scripts/oidc && npm ci)"
}

# The s3s-fs version the storage tests run: an S3 server that, unlike moto, checks signatures.
S3S_FS_VERSION="0.14.1"

# Where s3s-fs is (PATH, then cargo's bin directory), or nothing.
s3s_fs_path() {
  local bin="${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs"
  if have s3s-fs; then
    command -v s3s-fs
  elif [[ -x "$bin" ]]; then
    printf '%s\n' "$bin"
  else
    return 1
  fi
}

# ensure_s3s_fs — build s3s-fs once with cargo install (a few minutes). Warns instead of
# failing: without it only the S3 tests fail.
ensure_s3s_fs() {
  s3s_fs_path >/dev/null && return 0
  log "Installing s3s-fs $S3S_FS_VERSION (S3 server for the storage tests; one-off, a few minutes)"
  if cargo install "s3s-fs@$S3S_FS_VERSION" --features binary --locked >&2 && s3s_fs_path >/dev/null; then
    return 0
  fi
  warn "s3s-fs is not installed; the S3 tests will fail (install it: cargo install s3s-fs@$S3S_FS_VERSION --features binary --locked)"
}

# ---------------------------------------------------------------------------
# PostgreSQL

# ensure_pg_binaries — set PG_BIN to the newest server binaries available.
ensure_pg_binaries() {
  [[ -n "$PG_BIN" ]] && return 0
  _find_pg_bin && return 0
  apt_install postgresql
  _find_pg_bin || die "PostgreSQL was installed but initdb is nowhere to be found"
}

_find_pg_bin() {
  local dir newest=""
  # Debian/Ubuntu keep each major version apart; take the newest.
  newest="$(
    for dir in /usr/lib/postgresql/*/bin; do
      if [[ -x "$dir/initdb" ]]; then printf '%s\n' "$dir"; fi
    done | sort -V | tail -n 1
  )"
  if [[ -z "$newest" ]] && have pg_ctl && have initdb; then
    # Other layouts (Homebrew, Fedora, ...) put them on PATH.
    newest="$(dirname "$(command -v initdb)")"
  fi
  [[ -n "$newest" ]] || return 1
  PG_BIN="$newest"
}

# An existing cluster must be run by the major version that created it, which
# need not be the newest one installed.
_pg_bin_for_data() {
  local version
  [[ -f "$1/PG_VERSION" ]] || return 0
  version="$(cat "$1/PG_VERSION")"
  if [[ -x "/usr/lib/postgresql/$version/bin/pg_ctl" ]]; then
    PG_BIN="/usr/lib/postgresql/$version/bin"
  elif [[ "$("$PG_BIN/pg_ctl" --version)" != *" $version."* ]]; then
    warn "$1 was created by PostgreSQL $version but $PG_BIN is $("$PG_BIN/pg_ctl" --version)"
  fi
}

# The client tools may live in PG_BIN or only on PATH.
_pg_tool() {
  if [[ -n "$PG_BIN" && -x "$PG_BIN/$1" ]]; then
    printf '%s\n' "$PG_BIN/$1"
  elif have "$1"; then
    command -v "$1"
  else
    return 1
  fi
}

# pg_answers URL | HOST:PORT — does a PostgreSQL server accept connections there?
pg_answers() {
  local target="$1" isready host
  if isready="$(_pg_tool pg_isready)"; then
    if [[ "$target" == *://* ]]; then
      "$isready" -q -t 3 -d "$target"
    else
      host="${target%:*}"
      host="${host#[}"
      # A user name that exists keeps "role does not exist" out of server logs.
      "$isready" -q -t 3 -h "${host%]}" -p "${target##*:}" -U postgres
    fi
  elif [[ "$target" == *://* ]]; then
    # Without pg_isready only "something listens on the port" can be checked.
    local hostport="${target#*://}"
    hostport="${hostport#*@}"
    hostport="${hostport%%/*}"
    hostport="${hostport%%\?*}"
    [[ "$hostport" == *:* ]] || hostport="$hostport:5432"
    tcp_answers "${hostport%:*}" "${hostport##*:}"
  else
    tcp_answers "${target%:*}" "${target##*:}"
  fi
}

# pg_can_create_databases URL — can this URL log in (without a password prompt)
# and create databases? That is what the tests need from their server.
pg_can_create_databases() {
  local psql answer
  psql="$(_pg_tool psql)" || return 0 # cannot tell; let the tests find out
  answer="$(PGCONNECT_TIMEOUT=3 "$psql" -w -X -q -tA -d "$1" \
    -c "select rolsuper or rolcreatedb from pg_roles where rolname = current_user" \
    2>/dev/null)" || return 1
  [[ "$answer" == t ]]
}

tcp_answers() {
  local host="$1" port="$2"
  host="${host#[}"
  host="${host%]}"
  # shellcheck disable=SC2016 # expanded by the inner bash
  _with_timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$port" 2>/dev/null
}

_with_timeout() {
  local secs="$1"
  shift
  if have timeout; then
    timeout "$secs" "$@"
  else
    "$@"
  fi
}

# Run a command as the OS user that owns the local cluster. initdb and pg_ctl
# refuse to run as root, so root hands them to that user.
_as_pg_user() {
  if is_root; then
    # Start from / so the tools do not trip over an unreadable working directory.
    if have runuser; then
      (cd / && runuser -u "$LOCAL_PG_OS_USER" -- "$@")
    else
      local cmd
      cmd="$(printf '%q ' "$@")"
      (cd / && su -s /bin/sh "$LOCAL_PG_OS_USER" -c "$cmd")
    fi
  else
    "$@"
  fi
}

_short_hash() {
  if have sha256sum; then
    printf '%s' "$1" | sha256sum | cut -c1-10
  elif have shasum; then
    printf '%s' "$1" | shasum -a 256 | cut -c1-10
  else
    printf '%s' "$1" | cksum | cut -d' ' -f1
  fi
}

_pg_fallback_base() { printf '/var/tmp/guild-pg-%s\n' "$(_short_hash "$GUILD_ROOT")"; }

# Can the postgres OS user reach (and so own a data dir inside) DIR?
_pg_user_can_enter() { _as_pg_user test -x "$1" 2>/dev/null; }

# Decide where the cluster lives and who runs it. Touches nothing on disk.
_pg_locate() {
  [[ -n "$LOCAL_PG_DATA" ]] && return 0
  local repo_base="$GUILD_ROOT/.data" fallback
  fallback="$(_pg_fallback_base)"

  if [[ -n "${GUILD_LOCAL_PG_DIR:-}" ]]; then
    LOCAL_PG_BASE="$GUILD_LOCAL_PG_DIR"
  elif [[ -f "$repo_base/postgres/PG_VERSION" ]]; then
    LOCAL_PG_BASE="$repo_base"
  elif [[ -f "$fallback/postgres/PG_VERSION" ]]; then
    LOCAL_PG_BASE="$fallback"
  else
    LOCAL_PG_BASE="$repo_base" # may still move to the fallback in _pg_prepare_dirs
  fi
  LOCAL_PG_DATA="$LOCAL_PG_BASE/postgres"
  LOCAL_PG_LOG="$LOCAL_PG_BASE/postgres.log"
  # shellcheck disable=SC2034 # read by the scripts that source this file
  LOCAL_PG_URL="postgres://postgres@127.0.0.1:$GUILD_LOCAL_PG_PORT"

  if ! is_root; then
    LOCAL_PG_OS_USER="$(id -un)"
  elif [[ -d "$LOCAL_PG_DATA" ]] && [[ "$(stat -c %U "$LOCAL_PG_DATA")" != root ]]; then
    LOCAL_PG_OS_USER="$(stat -c %U "$LOCAL_PG_DATA")"
  else
    LOCAL_PG_OS_USER=postgres
  fi
}

# Create DIR (if missing) readable and traversable by other users.
_mkdir_traversable() {
  [[ -d "$1" ]] && return 0
  mkdir -p "$(dirname "$1")"
  mkdir -m 0755 "$1"
}

# Create the directories the cluster needs, owned by the right user. As root,
# fall back to /var/tmp when the postgres user cannot traverse the repo path
# (a checkout under /root, say).
_pg_prepare_dirs() {
  if ! is_root; then
    mkdir -p "$LOCAL_PG_BASE"
    touch "$LOCAL_PG_LOG"
    return 0
  fi

  if ! id -u "$LOCAL_PG_OS_USER" >/dev/null 2>&1; then
    log "Creating the '$LOCAL_PG_OS_USER' system user to run PostgreSQL"
    useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash \
      "$LOCAL_PG_OS_USER"
  fi

  if [[ ! -d "$LOCAL_PG_DATA" && -z "${GUILD_LOCAL_PG_DIR:-}" ]]; then
    # `.data` is ours: make sure other users can pass through it.
    _mkdir_traversable "$LOCAL_PG_BASE"
    if ! _pg_user_can_enter "$LOCAL_PG_BASE"; then
      LOCAL_PG_BASE="$(_pg_fallback_base)"
      LOCAL_PG_DATA="$LOCAL_PG_BASE/postgres"
      LOCAL_PG_LOG="$LOCAL_PG_BASE/postgres.log"
      info "'$LOCAL_PG_OS_USER' cannot reach $GUILD_ROOT; using $LOCAL_PG_BASE instead"
    fi
  fi

  _mkdir_traversable "$LOCAL_PG_BASE"
  _pg_user_can_enter "$LOCAL_PG_BASE" ||
    die "the '$LOCAL_PG_OS_USER' user cannot reach $LOCAL_PG_BASE; set GUILD_LOCAL_PG_DIR to a directory it can use"
  if [[ ! -d "$LOCAL_PG_DATA" ]]; then
    mkdir -m 0700 "$LOCAL_PG_DATA"
    chown "$LOCAL_PG_OS_USER:" "$LOCAL_PG_DATA"
  fi
  # pg_ctl opens the log file as the server's user.
  touch "$LOCAL_PG_LOG"
  chown "$LOCAL_PG_OS_USER:" "$LOCAL_PG_LOG"
}

_pg_running() { _as_pg_user "$PG_BIN/pg_ctl" status -D "$LOCAL_PG_DATA" >/dev/null 2>&1; }

_wait_for() {
  local tries="$1"
  shift
  while ((tries-- > 0)); do
    "$@" && return 0
    sleep 1
  done
  return 1
}

# start_local_pg — create (once) and start the project-local cluster on
# 127.0.0.1:$GUILD_LOCAL_PG_PORT, superuser postgres, trust auth. Idempotent.
# Sets LOCAL_PG_URL (no database name) and LOCAL_PG_DATA.
start_local_pg() {
  ensure_pg_binaries
  _pg_locate
  _pg_bin_for_data "$LOCAL_PG_DATA"
  local addr="127.0.0.1:$GUILD_LOCAL_PG_PORT"

  if [[ -f "$LOCAL_PG_DATA/PG_VERSION" ]] && _pg_running; then
    if _wait_for 15 pg_answers "$addr"; then
      info "local PostgreSQL already running on $addr ($LOCAL_PG_DATA)"
      return 0
    fi
    die "the local cluster in $LOCAL_PG_DATA is running but not answering on $addr (another GUILD_LOCAL_PG_PORT?); run 'make db-stop' and retry"
  fi
  if pg_answers "$addr"; then
    # Not our cluster, but a server is there; use it as the caller asked for this port.
    warn "a PostgreSQL server not started from $LOCAL_PG_DATA already answers on $addr; using it"
    return 0
  fi

  _pg_prepare_dirs

  if [[ ! -f "$LOCAL_PG_DATA/PG_VERSION" ]]; then
    log "Creating a local PostgreSQL cluster in $LOCAL_PG_DATA"
    _pg_create_cluster "$PG_BIN" "$LOCAL_PG_DATA" "$LOCAL_PG_LOG" \
      'Guild local development cluster' 200
  fi

  log "Starting local PostgreSQL on $addr"
  _pg_start_cluster "$PG_BIN" "$LOCAL_PG_DATA" "$LOCAL_PG_LOG" "$GUILD_LOCAL_PG_PORT"
  info "data: $LOCAL_PG_DATA   log: $LOCAL_PG_LOG"
}

# _pg_create_cluster BIN DATA LOGFILE COMMENT MAX_CONNECTIONS — initdb DATA as the cluster's
# user (superuser postgres, trust auth, UTF8, C locale) with settings for disposable data:
# MAX_CONNECTIONS, no unix sockets (nothing here needs them, and deep paths overflow their
# limit), commits that do not wait for the WAL flush. Listen address and port are given at
# start, so they can change.
_pg_create_cluster() {
  local bin="$1" data="$2" logfile="$3" comment="$4" max="$5"
  if ! _as_pg_user "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 \
    --locale=C >>"$logfile" 2>&1; then
    tail -n 20 "$logfile" >&2
    die "initdb failed for $data (full log: $logfile)"
  fi
  {
    printf '\n# %s\n' "$comment"
    printf "unix_socket_directories = ''\n"
    printf 'max_connections = %s\n' "$max"
    printf 'synchronous_commit = off\n'
  } | _as_pg_user tee -a "$data/postgresql.conf" >/dev/null
}

# _pg_start_cluster BIN DATA LOGFILE PORT — start the cluster in DATA on 127.0.0.1:PORT and wait
# until it answers.
_pg_start_cluster() {
  local bin="$1" data="$2" logfile="$3" port="$4"
  if ! _as_pg_user "$bin/pg_ctl" start -D "$data" -l "$logfile" -w -t 60 \
    -o "-h 127.0.0.1 -p $port" >/dev/null; then
    tail -n 20 "$logfile" >&2
    die "PostgreSQL in $data did not start (full log: $logfile)"
  fi
  _wait_for 15 pg_answers "127.0.0.1:$port" ||
    die "PostgreSQL in $data started but does not answer on 127.0.0.1:$port"
}

# stop_local_pg — stop the project-local cluster wherever it lives.
stop_local_pg() {
  local base stopped=""
  if ! _find_pg_bin; then
    info "no PostgreSQL binaries; nothing to stop"
    return 0
  fi
  for base in ${GUILD_LOCAL_PG_DIR:+"$GUILD_LOCAL_PG_DIR"} "$GUILD_ROOT/.data" "$(_pg_fallback_base)"; do
    [[ -f "$base/postgres/PG_VERSION" ]] || continue
    LOCAL_PG_DATA="$base/postgres"
    _pg_bin_for_data "$LOCAL_PG_DATA"
    if is_root; then LOCAL_PG_OS_USER="$(stat -c %U "$LOCAL_PG_DATA")"; else LOCAL_PG_OS_USER="$(id -un)"; fi
    if _pg_running; then
      log "Stopping local PostgreSQL ($LOCAL_PG_DATA)"
      _as_pg_user "$PG_BIN/pg_ctl" stop -D "$LOCAL_PG_DATA" -m fast -w >/dev/null
      stopped=1
    fi
  done
  LOCAL_PG_DATA=""
  [[ -n "$stopped" ]] || info "local PostgreSQL is not running"
}

# start_pgvector_pg — start (creating it once) a PostgreSQL with the pgvector extension for the
# vector search tests: PostgreSQL 16 and pgvector as the `pgserver` wheel from PyPI ships them
# (installed with pip into <base>/pgvector-pkg), its cluster in <base>/pgvector (<base> as for the
# local cluster), on 127.0.0.1:$GUILD_LOCAL_PGVECTOR_PORT, superuser postgres, trust auth.
# Idempotent. Sets PGVECTOR_URL.
start_pgvector_pg() {
  local addr="127.0.0.1:$GUILD_LOCAL_PGVECTOR_PORT" pkg bin data logfile
  PGVECTOR_URL="postgres://postgres@$addr"
  if pg_answers "$addr"; then
    info "PostgreSQL with pgvector already answers on $addr"
    return 0
  fi
  _pg_locate
  if is_root && ! id -u "$LOCAL_PG_OS_USER" >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash \
      "$LOCAL_PG_OS_USER"
  fi
  _mkdir_traversable "$LOCAL_PG_BASE"
  _pg_user_can_enter "$LOCAL_PG_BASE" ||
    die "the '$LOCAL_PG_OS_USER' user cannot reach $LOCAL_PG_BASE; set GUILD_LOCAL_PG_DIR to a directory it can use"
  pkg="$LOCAL_PG_BASE/pgvector-pkg"
  bin="$pkg/pgserver/pginstall/bin"
  data="$LOCAL_PG_BASE/pgvector"
  logfile="$LOCAL_PG_BASE/pgvector.log"
  if [[ ! -x "$bin/postgres" ]]; then
    have python3 || apt_install python3
    python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    log "Installing PostgreSQL with pgvector (pgserver $PGSERVER_VERSION from PyPI) into $pkg"
    python3 -m pip install --quiet --disable-pip-version-check --no-deps --upgrade \
      --target "$pkg" "pgserver==$PGSERVER_VERSION" >&2 ||
      die "could not install pgserver $PGSERVER_VERSION"
    chmod -R a+rX "$pkg"
  fi
  touch "$logfile"
  is_root && chown "$LOCAL_PG_OS_USER:" "$logfile"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    log "Creating the PostgreSQL cluster with pgvector in $data"
    mkdir -p -m 0700 "$data"
    is_root && chown "$LOCAL_PG_OS_USER:" "$data"
    _pg_create_cluster "$bin" "$data" "$logfile" 'Guild: the vector search tests' 100
  fi
  log "Starting PostgreSQL with pgvector on $addr"
  _pg_start_cluster "$bin" "$data" "$logfile" "$GUILD_LOCAL_PGVECTOR_PORT"
}

# stop_pgvector_pg — stop it (see start_pgvector_pg) wherever it lives.
stop_pgvector_pg() {
  local base data
  for base in ${GUILD_LOCAL_PG_DIR:+"$GUILD_LOCAL_PG_DIR"} "$GUILD_ROOT/.data" "$(_pg_fallback_base)"; do
    data="$base/pgvector"
    [[ -f "$data/PG_VERSION" && -x "$base/pgvector-pkg/pgserver/pginstall/bin/pg_ctl" ]] || continue
    if is_root; then LOCAL_PG_OS_USER="$(stat -c %U "$data")"; else LOCAL_PG_OS_USER="$(id -un)"; fi
    if _as_pg_user "$base/pgvector-pkg/pgserver/pginstall/bin/pg_ctl" status -D "$data" >/dev/null 2>&1; then
      log "Stopping PostgreSQL with pgvector ($data)"
      _as_pg_user "$base/pgvector-pkg/pgserver/pginstall/bin/pg_ctl" stop -D "$data" -m fast -w >/dev/null
    fi
  done
}

# ensure_local_database NAME — create NAME on the local cluster if it is missing.
ensure_local_database() {
  local name="$1" psql createdb exists
  ensure_pg_binaries
  psql="$(_pg_tool psql)" || die "psql not found"
  createdb="$(_pg_tool createdb)" || die "createdb not found"
  local -a conn=(-h 127.0.0.1 -p "$GUILD_LOCAL_PG_PORT" -U postgres -w)
  exists="$("$psql" "${conn[@]}" -d postgres -X -q -tA -v ON_ERROR_STOP=1 -v name="$name" \
    <<<"select 1 from pg_database where datname = :'name'")"
  if [[ "$exists" != 1 ]]; then
    log "Creating database $name"
    "$createdb" "${conn[@]}" "$name"
  fi
}

# ---------------------------------------------------------------------------
# Redis

# redis_answers [URL | HOST:PORT] — does Redis reply to PING there?
redis_answers() {
  local target="${1:-127.0.0.1:6379}" host port reply
  if [[ "$target" != *://* ]]; then
    host="${target%:*}" port="${target##*:}"
    target="redis://$host:$port"
  fi
  if have redis-cli; then
    reply="$(_with_timeout 3 redis-cli -u "$target" ping 2>/dev/null)" || return 1
    [[ "$reply" == PONG ]]
    return
  fi
  # No redis-cli: speak the protocol by hand (no auth, no TLS).
  local hostport="${target#*://}"
  hostport="${hostport#*@}"
  hostport="${hostport%%/*}"
  [[ "$hostport" == *:* ]] || hostport="$hostport:6379"
  host="${hostport%:*}" port="${hostport##*:}"
  # shellcheck disable=SC2016 # expanded by the inner bash
  _with_timeout 3 bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf "PING\r\n" >&3
    IFS= read -r line <&3
    [[ "$line" == +PONG* ]]' _ "$host" "$port" 2>/dev/null
}

# start_local_redis — use the machine's Redis on 6379 if it answers, otherwise
# start a throw-away one on $GUILD_LOCAL_REDIS_PORT. Sets LOCAL_REDIS_URL.
start_local_redis() {
  if redis_answers 127.0.0.1:6379; then
    LOCAL_REDIS_URL="redis://127.0.0.1:6379"
    return 0
  fi
  # shellcheck disable=SC2034 # read by the scripts that source this file
  LOCAL_REDIS_URL="redis://127.0.0.1:$GUILD_LOCAL_REDIS_PORT"
  if redis_answers "127.0.0.1:$GUILD_LOCAL_REDIS_PORT"; then
    info "local Redis already running on port $GUILD_LOCAL_REDIS_PORT"
    return 0
  fi
  have redis-server || apt_install redis-server
  local dir="$GUILD_ROOT/.data"
  mkdir -p "$dir"
  log "Starting local Redis on 127.0.0.1:$GUILD_LOCAL_REDIS_PORT"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$GUILD_LOCAL_REDIS_PORT" \
    --save "" --appendonly no --dir "$dir" \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
  _wait_for 10 redis_answers "127.0.0.1:$GUILD_LOCAL_REDIS_PORT" ||
    die "Redis did not start (log: $dir/redis.log)"
}

# stop_local_redis — stop the Redis started by start_local_redis, if any.
stop_local_redis() {
  local pidfile="$GUILD_ROOT/.data/redis.pid" pid
  [[ -f "$pidfile" ]] || return 0
  pid="$(cat "$pidfile")"
  # Only signal it if that pid is still a redis-server (pids get reused).
  if [[ "$pid" =~ ^[0-9]+$ ]] && ps -p "$pid" -o comm= 2>/dev/null | grep -q '^redis-server'; then
    log "Stopping local Redis (pid $pid)"
    kill "$pid"
    # shellcheck disable=SC2016 # expanded by the inner bash
    _wait_for 10 bash -c '! kill -0 "$1" 2>/dev/null' _ "$pid" || warn "Redis (pid $pid) is still running"
  fi
  rm -f "$pidfile"
}
