#!/usr/bin/env bash
# The typed TypeScript client in clients/typescript: its types are generated from
# api-spec/openapi.json by openapi-typescript; its tools (pinned by clients/typescript/
# package-lock.json) are installed into clients/typescript/node_modules on first use.
#
#   scripts/ts-client.sh gen     regenerate clients/typescript/src/schema.d.ts (run by `make spec`)
#   scripts/ts-client.sh stale   fail if schema.d.ts differs from what the spec generates
#                                (run by `make spec-check`)
#   scripts/ts-client.sh check   stale, then `tsc --noEmit`: the client and its examples
#                                type-check, and every call in examples/wrong-calls.ts does not
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/tools.sh
source "$GUILD_ROOT/scripts/tools.sh"
cd "$GUILD_ROOT"

client=clients/typescript
spec=api-spec/openapi.json
schema="$client/src/schema.d.ts"

npm_install_locked "$client" "$client"
bin="$GUILD_ROOT/$client/node_modules/.bin"

generate() { # generate OUT
  local output
  if ! output="$("$bin/openapi-typescript" "$spec" --output "$1" 2>&1)"; then
    printf '%s\n' "$output" >&2
    die "openapi-typescript failed on $spec"
  fi
}

stale() {
  local tmp
  tmp="$(mktemp --suffix=.d.ts)"
  generate "$tmp"
  if ! diff -q "$schema" "$tmp" >/dev/null 2>&1; then
    diff -u "$schema" "$tmp" | head -n 40 >&2 || true
    rm -f "$tmp"
    die "$schema is out of date with $spec: run 'make spec' and commit the result"
  fi
  rm -f "$tmp"
  info "$schema is up to date"
}

case "${1:-}" in
  gen)
    generate "$schema"
    info "wrote $schema"
    ;;
  stale)
    stale
    ;;
  check)
    stale
    log "tsc --noEmit in $client"
    (cd "$client" && "$bin/tsc" --noEmit -p tsconfig.json)
    info "the client and its examples type-check; every wrong call is refused"
    ;;
  *)
    die "usage: scripts/ts-client.sh gen|stale|check"
    ;;
esac
