# Sourced by the bench-* scripts: a release build, a work directory removed on exit, and
# `start ARGS...`, which runs `kokuin serve ARGS... --http 127.0.0.1:0` in the background until
# it listens and sets $pid and $url. The load comes from one address, so the per-address
# rate limit is off (--rate-limit 0).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --quiet
bin=$PWD/target/release/kokuin
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait; rm -rf "$work"' EXIT

start() {
    : >"$work/out"
    "$bin" serve "$@" --http 127.0.0.1:0 --rate-limit 0 >"$work/out" 2>"$work/err" &
    pid=$!
    for _ in $(seq 100); do grep -q '^listening' "$work/out" 2>/dev/null && break; sleep 0.1; done
    url=$(sed -n 's/^listening \(http:[^ ]*\)/\1/p' "$work/out" | head -1)
}
