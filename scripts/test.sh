#!/usr/bin/env bash
# The whole test suite, runnable on a machine that has never seen tabby.
# Installs what the tests need, then runs formatting, lints, tests and a
# compile check of the benches and fuzz targets. Exit status is non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests use. Installed only when missing, so a second run is fast.
need_pkgs=()
# Each entry is COMMAND:DEBIAN_PACKAGE; add a line when a test needs a new tool.
pkgs=(
  "python3:python3"
  "git:git"
  "chromium:chromium"
  "etcd:etcd-server"
  "openssl:openssl"
)
for pair in "${pkgs[@]}"; do
  cmd=${pair%%:*}; pkg=${pair##*:}
  command -v "$cmd" >/dev/null 2>&1 || need_pkgs+=("$pkg")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}"
  else
    echo "missing packages: ${need_pkgs[*]} (run as root to install them)" >&2; exit 2
  fi
fi

command -v cargo >/dev/null 2>&1 || { echo "cargo is required (https://rustup.rs)" >&2; exit 2; }

step() { printf '\n==> %s\n' "$*"; }

# Services the tests talk to (started here, stopped when this script exits).
# Each script in scripts/services/ is run with `start`; it must be idempotent and
# print KEY=VALUE lines on stdout for what the tests need (exported here).
cleanup_cmds=()
cleanup() { for c in "${cleanup_cmds[@]}"; do eval "$c" || true; done; }
trap cleanup EXIT
for svc in scripts/services/*.sh; do
  [ -e "$svc" ] || continue
  step "service $(basename "$svc" .sh)"
  while IFS='=' read -r k v; do
    [ -n "$k" ] && export "$k=$v"
  done < <(bash "$svc" start)
  cleanup_cmds+=("bash $svc stop")
done

step "format"
cargo fmt --all -- --check

step "crate layering (dependencies point down)"
python3 scripts/check-layers.py

step "clippy (warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
  cargo test --workspace --doc --quiet
else
  cargo test --workspace --no-fail-fast
fi

step "benches compile and run once as tests"
cargo test --workspace --benches --quiet

step "fuzz targets compile"
(cd fuzz && cargo check --quiet)

step "the README's first command works on examples/"
cargo run -q -- check examples/cluster examples/policies
