#!/usr/bin/env bash
# tokman serve behind nginx, side by side in one run, with wrk on keep-alive connections:
#   (a) nginx -> auth_request -> tokman serve -> static upstream
#   (b) nginx -> auth_request -> a static `return 200` auth location -> static upstream
#   (b') nginx -> auth_request -> an nginx server answering 200 over HTTP -> static upstream:
#        the same hop as (a) with an auth service that does nothing, the ceiling for any
#        service behind auth_request on this machine
#   (a~), (b'~) the same two over Unix sockets instead of loopback TCP
#   (c) tokman serve's /auth, direct
# Requests/s and the p50/p99 latency of each; the goal is (a) at 0.7x (b)'s rate or better.
#
#   benches/serve.sh                     # 10 s a row, 32 connections, 1 wrk thread
#   DURATION=5s CONNECTIONS=64 benches/serve.sh
#   TOKMAN_BIN=/path/to/tokman benches/serve.sh   # that binary instead of building one
#
# Needs: cargo, nginx (apt-get install nginx), wrk (apt-get install wrk). Everything runs on
# 127.0.0.1 in a temp dir that is removed at the end; nothing else is touched.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
NGINX=${NGINX:-/usr/sbin/nginx}
WORKERS=${NGINX_WORKERS:-1}

need() { command -v "$1" >/dev/null || [ -x "$1" ] || { echo "serve.sh: $1 not found; $2" >&2; exit 1; }; }
need cargo "install Rust"
need "$NGINX" "apt-get install nginx"
need wrk "apt-get install wrk"

if [ -n "${TOKMAN_BIN:-}" ]; then
    BIN=$TOKMAN_BIN
else
    echo "== building (release)" >&2
    (cd "$ROOT" && cargo build --release --quiet --locked)
    BIN=$TARGET/release/tokman
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "serve.sh: nothing listens on port $1" >&2
    exit 1
}

unset TOKMAN_PASSPHRASE TOKMAN_PASSPHRASE_FILE TOKMAN_NEW_PASSPHRASE
export TOKMAN_STORE=$WORK/store.db TOKMAN_KEY_FILE=$WORK/serve.key
"$BIN" init --new-key-file "$TOKMAN_KEY_FILE" >/dev/null 2>&1
TOKEN=$("$BIN" generate bench --scope app:use --no-rate-limit 2>/dev/null)

T_PORT=$(free_port); A_PORT=$(free_port); B_PORT=$(free_port); U_PORT=$(free_port)
H_PORT=$(free_port); S_PORT=$(free_port); AU_PORT=$(free_port); HU_PORT=$(free_port)
"$BIN" serve --quiet --listen "127.0.0.1:$T_PORT" --trusted-proxy 127.0.0.1/32 2>"$WORK/serve.log" &
PIDS+=($!)
wait_port "$T_PORT"
"$BIN" serve --quiet --listen "unix:$WORK/tokman.sock" 2>"$WORK/serve-unix.log" &
PIDS+=($!)
for _ in $(seq 1 200); do [ -S "$WORK/tokman.sock" ] && break; sleep 0.05; done

USER_LINE=""
[ "$(id -u)" -eq 0 ] && USER_LINE="user root;"
# A front server on PORT whose /app/ is let through by an auth_request to UPSTREAM's /auth
# (as contrib/nginx/tokman.conf does it), then proxied to the static upstream.
front() { # PORT UPSTREAM
    cat <<BLOCK
    server {
        listen 127.0.0.1:$1;
        location = /_auth {
            internal;
            proxy_pass http://$2/auth;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Authorization \$http_authorization;
            proxy_set_header X-Tokman-Scope "app:use";
            proxy_set_header X-Forwarded-For \$remote_addr;
        }
        location /app/ {
            auth_request /_auth;
            auth_request_set \$auth_user \$upstream_http_x_tokman_user;
            proxy_set_header X-User \$auth_user;
            proxy_set_header Authorization "";
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://app;
        }
    }
BLOCK
}
cat >"$WORK/nginx.conf" <<CONF
$USER_LINE
worker_processes $WORKERS;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/body; proxy_temp_path $WORK/proxy;
    fastcgi_temp_path $WORK/fastcgi; uwsgi_temp_path $WORK/uwsgi; scgi_temp_path $WORK/scgi;
    upstream app { server 127.0.0.1:$U_PORT; keepalive 64; }
    upstream tokman { server 127.0.0.1:$T_PORT; keepalive 64; }
    upstream tokman_unix { server unix:$WORK/tokman.sock; keepalive 64; }
    upstream static_auth { server 127.0.0.1:$S_PORT; keepalive 64; }
    upstream static_auth_unix { server unix:$WORK/static.sock; keepalive 64; }
    # (a) and (a~): tokman serve
$(front "$A_PORT" tokman)
$(front "$AU_PORT" tokman_unix)
    # (b): an auth location that answers 200 by itself
    server {
        listen 127.0.0.1:$B_PORT;
        location = /_static_auth { internal; return 200; }
        location /app/ {
            auth_request /_static_auth;
            proxy_set_header X-User "static";
            proxy_set_header Authorization "";
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://app;
        }
    }
    # (b') and (b'~): an nginx server answering 200, over TCP and a Unix socket
$(front "$H_PORT" static_auth)
$(front "$HU_PORT" static_auth_unix)
    server {
        listen 127.0.0.1:$S_PORT;
        listen unix:$WORK/static.sock;
        location = /auth { add_header X-Tokman-User static; return 200; }
    }
    # the static upstream
    server {
        listen 127.0.0.1:$U_PORT;
        location / { return 200 "hello \$http_x_user\n"; }
    }
}
CONF
"$NGINX" -p "$WORK" -c "$WORK/nginx.conf" -g 'daemon off;' 2>>"$WORK/error.log" &
PIDS+=($!)
wait_port "$A_PORT"; wait_port "$B_PORT"; wait_port "$H_PORT"; wait_port "$AU_PORT"; wait_port "$HU_PORT"

# Each path answers 200 before it is measured.
for url in "http://127.0.0.1:$A_PORT/app/x" "http://127.0.0.1:$B_PORT/app/x" "http://127.0.0.1:$H_PORT/app/x" "http://127.0.0.1:$AU_PORT/app/x" "http://127.0.0.1:$HU_PORT/app/x" "http://127.0.0.1:$T_PORT/auth"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$url")
    [ "$code" = 200 ] || { echo "serve.sh: $url answered $code" >&2; cat "$WORK/error.log" >&2; exit 1; }
done

row() { # name url
    local out rps p50 p99
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "$2")
    if grep -q "Non-2xx" <<<"$out"; then echo "serve.sh: $1 had non-2xx answers:" >&2; echo "$out" >&2; exit 1; fi
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    printf '%-52s %12s %10s %10s\n' "$1" "$rps" "$p50" "$p99"
    echo "$rps" >"$WORK/rps-$3"
}

echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency (keep-alive), nginx workers: $WORKERS, $(nproc) cores" >&2
printf '%-52s %12s %10s %10s\n' "path" "requests/s" "p50" "p99"
row "(a) nginx -> auth_request -> tokman serve -> static" "http://127.0.0.1:$A_PORT/app/x" a
row "(b) nginx -> auth_request -> return 200 -> static" "http://127.0.0.1:$B_PORT/app/x" b
row "(b') nginx -> auth_request -> nginx 200 -> static" "http://127.0.0.1:$H_PORT/app/x" h
row "(a~) as (a), over Unix sockets" "http://127.0.0.1:$AU_PORT/app/x" au
row "(b'~) as (b'), over Unix sockets" "http://127.0.0.1:$HU_PORT/app/x" hu
row "(c) tokman serve /auth, direct" "http://127.0.0.1:$T_PORT/auth" c
awk -v a="$(cat "$WORK/rps-a")" -v b="$(cat "$WORK/rps-b")" -v h="$(cat "$WORK/rps-h")" \
    -v au="$(cat "$WORK/rps-au")" -v hu="$(cat "$WORK/rps-hu")" 'BEGIN {
    printf "(a)/(b) = %.2f (goal: 0.70 or more)\n", a / b
    printf "(b\x27)/(b) = %.2f (the most any auth service over HTTP reaches here)\n", h / b
    printf "(a)/(b\x27) = %.2f (tokman serve against an auth service that does nothing)\n", a / h
    printf "(a~)/(b) = %.2f, (b\x27~)/(b) = %.2f, (a~)/(b\x27~) = %.2f (over Unix sockets)\n", au / b, hu / b, au / hu
}'
USES=$("$BIN" inspect "${TOKEN%_*}" --json | awk -F': ' '/"use_count"/ {gsub(",", "", $2); print $2}')
echo "use_count after the run: $USES (every answered /auth counted)"
