# Sourced by scripts/dev-fleet and scripts/bench-fleet: `pg_start DIR` starts a throwaway
# PostgreSQL cluster in DIR (initdb, trust authentication on loopback only, run as the
# postgres user when root, since PostgreSQL refuses root) and sets $db (its URL) and $pg_pid.
# The caller stops it (kill -TERM $pg_pid) and removes DIR.
pg_start() {
    local dir=$1 bin as_pg=() port
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -x "$bin/postgres" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; return 1; }
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres "$dir"
        # The postgres user must reach DIR through the caller's private temporary directory.
        chmod a+x "$(dirname "$dir")"
        as_pg=(runuser -u postgres --)
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "${as_pg[@]}" "$bin/initdb" -D "$dir/data" -U kokuin --auth=trust -E UTF8 --no-instructions >/dev/null
    "${as_pg[@]}" "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 \
        -c max_connections=200 >"$dir/postgres.log" 2>&1 &
    pg_pid=$!
    until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; do sleep 0.1; done
    db="postgres://kokuin@127.0.0.1:$port/postgres"
}

# `haproxy_config PORT NODE_PORT...`: deploy/haproxy.cfg with the frontend on PORT and one
# server line per node, on stdout. HAProxy reaches the nodes from 127.0.0.2, which the nodes
# take PROXY headers from (--proxy-protocol-from): a request to a node from 127.0.0.1 needs none.
haproxy_config() {
    local port=$1 servers="" i=0
    shift
    for p in "$@"; do
        i=$((i + 1))
        servers+="    server node$i 127.0.0.1:$p check source 127.0.0.2\n"
    done
    awk -v bind="    bind 127.0.0.1:$port" -v servers="$servers" '
        /^[[:space:]]*bind / { print bind; next }
        /^[[:space:]]*server / { if (!done) { printf "%s", servers; done = 1 } next }
        { print }' deploy/haproxy.cfg
}
