# Shared by scripts/dev and scripts/test: install whatever is missing or stale.
# Everything comes from the package registries (PyPI, npm); nothing else is
# downloaded, so a fresh clone works on a machine without other network.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"

stamp_of() { cat "$@" | sha256sum | cut -c1-16; }

ensure_python() {
  local want
  want="$(stamp_of pyproject.toml)"
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
  fi
  if [ "$(cat .venv/.installed 2>/dev/null)" != "$want" ]; then
    echo "==> installing Python packages (pyproject.toml [dev])"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[dev]'
    echo "$want" > .venv/.installed
  fi
}

ensure_node() {
  local want
  want="$(stamp_of package-lock.json)"
  if [ ! -x node_modules/.bin/wrangler ] \
    || [ "$(cat node_modules/.installed 2>/dev/null)" != "$want" ]; then
    echo "==> installing npm packages (wrangler 3.92.0, pinned; see README)"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > node_modules/.installed
  fi
}

ensure_browser() {
  # The browser tests drive Debian's Chromium through Playwright; Playwright's
  # own browser download is not used (it needs hosts other than registries).
  if [ -x /usr/bin/chromium ]; then
    return
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing Debian's chromium for the browser tests"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "==> /usr/bin/chromium missing and not root: browser tests will fail" >&2
  fi
}
