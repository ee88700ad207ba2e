# Shared by scripts/setup, run, test and package. Sourced, not run.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# One target dir outside the clone, shared by every build, test and CI run.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medwallet/target}"
# Where the node tools are, at run time: a build reused from another clone in the
# shared target dir may carry that clone's CARGO_MANIFEST_DIR.
export MEDWALLET_NODE_TOOLS="$ROOT/scripts/node"
export PATH="$HOME/.cargo/bin:$ROOT/scripts/node/node_modules/.bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

say() { printf 'medwallet: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# Builds the UI (Trunk -> dist/) and the app with the UI embedded.
# $1 = "debug" or "release".
build_app() {
    local profile="$1" trunk_flags=() cargo_flags=()
    if [ "$profile" = release ]; then trunk_flags=(--release); cargo_flags=(--release); fi
    say "building the UI ($profile)"
    (cd "$ROOT" && trunk build "${trunk_flags[@]}" --dist dist) || die "the UI build failed"
    say "building the app ($profile)"
    (cd "$ROOT" && cargo build "${cargo_flags[@]}" -p medwallet -p medwallet-devnodes --features medwallet/custom-protocol) \
        || die "the app build failed"
}
