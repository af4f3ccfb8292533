#!/usr/bin/env bash
# Lint the committed OpenAPI document with Spectral (`spectral:oas`, .spectral.yaml) and Redocly
# (`recommended`, redocly.yaml and .redocly.lint-ignore.yaml), both pinned by
# scripts/spec-lint/package-lock.json and installed into target/tools/spec-lint on first use.
# Fails on any error or warning of either.
#
#   scripts/spec-lint.sh [SPEC]   (default: api-spec/openapi.json)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/tools.sh
source "$GUILD_ROOT/scripts/tools.sh"
cd "$GUILD_ROOT"

spec="${1:-api-spec/openapi.json}"
[[ -f "$spec" ]] || die "$spec is missing: run 'make spec'"

tools="$GUILD_TOOLS_DIR/spec-lint"
npm_install_locked scripts/spec-lint "$tools"
bin="$tools/node_modules/.bin"
# No telemetry or update checks from the CI machine.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1

failed=""

log "Spectral $("$bin/spectral" --version) (spectral:oas) on $spec"
if "$bin/spectral" lint --ruleset .spectral.yaml --fail-severity warn --format text "$spec" >&2; then
  info "spectral: no errors, no warnings"
else
  failed+=" spectral"
fi

echo >&2
log "Redocly $("$bin/redocly" --version 2>/dev/null) (recommended) on $spec"
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
"$bin/redocly" lint --config redocly.yaml --max-problems 1000 --format stylish "$spec" 2>&1 |
  grep -v -e '║' -e '╔' -e '╚' >&2 || true
"$bin/redocly" lint --config redocly.yaml --max-problems 1000 --format json "$spec" >"$report" 2>/dev/null || true
read -r errors warnings < <(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.totals.errors} ${r.totals.warnings}`);
' "$report") || die "could not read Redocly's report"
if ((errors == 0 && warnings == 0)); then
  info "redocly: no errors, no warnings"
else
  warn "redocly: $errors error(s), $warnings warning(s)"
  failed+=" redocly"
fi

[[ -z "$failed" ]] || die "spec-lint failed:$failed (fix the findings above; a rule turned off needs a reason in its config)"
log "spec-lint: $spec passes Spectral and Redocly with no errors and no warnings"
