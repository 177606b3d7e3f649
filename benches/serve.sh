#!/usr/bin/env bash
# tokman serve behind nginx, side by side in one run, with wrk on keep-alive connections:
#   (a) nginx -> auth_request -> tokman serve -> static upstream
#   (b) nginx -> auth_request -> a static `return 200` auth location -> static upstream
#   (c) tokman serve's /auth, direct
# Requests/s and the p50/p99 latency of each; the goal is (a) at 0.7x (b)'s rate or better.
#
#   benches/serve.sh                     # 10 s a row, 32 connections, 1 wrk thread
#   DURATION=5s CONNECTIONS=64 benches/serve.sh
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

echo "== building (release)" >&2
(cd "$ROOT" && cargo build --release --quiet)
BIN=$TARGET/release/tokman

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
"$BIN" serve --quiet --listen "127.0.0.1:$T_PORT" --trusted-proxy 127.0.0.1/32 2>"$WORK/serve.log" &
PIDS+=($!)
wait_port "$T_PORT"

USER_LINE=""
[ "$(id -u)" -eq 0 ] && USER_LINE="user root;"
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
    upstream tokman { server 127.0.0.1:$T_PORT; keepalive 64; }
    upstream app { server 127.0.0.1:$U_PORT; keepalive 64; }
    # (a) as contrib/nginx/tokman.conf
    server {
        listen 127.0.0.1:$A_PORT;
        location = /_tokman_auth {
            internal;
            proxy_pass http://tokman/auth;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Authorization \$http_authorization;
            proxy_set_header X-Tokman-Scope "app:use";
            proxy_set_header X-Forwarded-For \$remote_addr;
        }
        location /app/ {
            auth_request /_tokman_auth;
            auth_request_set \$tokman_user \$upstream_http_x_tokman_user;
            proxy_set_header X-User \$tokman_user;
            proxy_set_header Authorization "";
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://app;
        }
    }
    # (b) the same, with an auth location that answers 200 by itself
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
    # the static upstream
    server {
        listen 127.0.0.1:$U_PORT;
        location / { return 200 "hello \$http_x_user\n"; }
    }
}
CONF
"$NGINX" -p "$WORK" -c "$WORK/nginx.conf" -g 'daemon off;' 2>>"$WORK/error.log" &
PIDS+=($!)
wait_port "$A_PORT"; wait_port "$B_PORT"

# Each path answers 200 before it is measured.
for url in "http://127.0.0.1:$A_PORT/app/x" "http://127.0.0.1:$B_PORT/app/x" "http://127.0.0.1:$T_PORT/auth"; do
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
row "(c) tokman serve /auth, direct" "http://127.0.0.1:$T_PORT/auth" c
awk -v a="$(cat "$WORK/rps-a")" -v b="$(cat "$WORK/rps-b")" 'BEGIN { printf "(a)/(b) = %.2f (goal: 0.70 or more)\n", a / b }'
USES=$("$BIN" inspect "${TOKEN%_*}" --json | awk -F': ' '/"use_count"/ {gsub(",", "", $2); print $2}')
echo "use_count after the run: $USES (every answered /auth counted)"
