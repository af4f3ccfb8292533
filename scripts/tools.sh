# shellcheck shell=bash
# Helpers for the contract checks (spec-lint.sh, fuzz.sh, ts-client.sh): Node.js and Python tools
# pinned by a committed manifest, installed into target/tools on first use. Source after lib.sh.

GUILD_TOOLS_DIR="${GUILD_TOOLS_DIR:-$GUILD_ROOT/target/tools}"

# The oldest Node.js the pinned tools run on (@redocly/cli 2 asks for 20.19).
NODE_MIN_MAJOR=20
NODE_MIN_MINOR=19

# ensure_node — node and npm on PATH, at least NODE_MIN_MAJOR.NODE_MIN_MINOR; Debian's packages
# when they are missing.
ensure_node() {
  if ! have node || ! have npm; then
    apt_install nodejs npm
  fi
  local version major minor
  version="$(node --version)"
  version="${version#v}"
  major="${version%%.*}"
  minor="${version#*.}"
  minor="${minor%%.*}"
  if ((major < NODE_MIN_MAJOR || (major == NODE_MIN_MAJOR && minor < NODE_MIN_MINOR))); then
    die "Node.js $version is too old for the pinned tools: install $NODE_MIN_MAJOR.$NODE_MIN_MINOR or later"
  fi
}

# npm_install_locked SRC DEST — install the packages pinned by SRC/package.json and
# SRC/package-lock.json into DEST/node_modules with `npm ci`, unless DEST already holds that lock.
# DEST may be SRC itself (a committed package, such as clients/typescript).
npm_install_locked() {
  local src="$1" dest="$2"
  ensure_node
  [[ -f "$src/package-lock.json" ]] || die "$src/package-lock.json is missing"
  mkdir -p "$dest"
  if [[ -d "$dest/node_modules" ]] && cmp -s "$src/package-lock.json" "$dest/node_modules/.guild-lock.json"; then
    return 0
  fi
  log "Installing the npm packages pinned in $src/package-lock.json"
  if [[ "$src" != "$dest" ]]; then
    cp "$src/package.json" "$src/package-lock.json" "$dest/"
  fi
  (cd "$dest" && npm ci --no-audit --no-fund --loglevel=error >&2)
  cp "$src/package-lock.json" "$dest/node_modules/.guild-lock.json"
}

# python_venv_locked REQUIREMENTS DEST — a virtualenv in DEST with the pinned REQUIREMENTS,
# reinstalled when they change. Prints nothing; the venv's python is DEST/bin/python.
python_venv_locked() {
  local requirements="$1" dest="$2"
  have python3 || apt_install python3
  if [[ -x "$dest/bin/python" ]] && cmp -s "$requirements" "$dest/.guild-requirements.txt"; then
    return 0
  fi
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    apt_install python3-venv
  fi
  log "Creating a Python virtualenv in $dest with $requirements"
  rm -rf "$dest"
  python3 -m venv "$dest"
  "$dest/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
  cp "$requirements" "$dest/.guild-requirements.txt"
}
