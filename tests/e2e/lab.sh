#!/usr/bin/env bash
# tests/e2e/lab.sh up|down — run INSIDE the lab's network namespace by tests/e2e/run: a PostgreSQL
# forwarder to the host's unix socket, Redis, callbase-s3, the carrier and platform Asterisks (SIP on
# the namespace address) and the callbase server with its Stasis worker and registration monitor.
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
REPO=$(readlink -f "$HERE/../..")
# shellcheck source=../../infra/lib/stack.sh
. "$REPO/infra/lib/stack.sh"

SIP_BIND_OVERRIDE=${CALLBASE_E2E_LAB_ADDR:-10.77.0.1}
stack_config e2e
stack_secrets
pg_cluster
ensure_secret "$PG_SECRETS_FILE" PG_AST_PASSWORD 32

PG_FWD_PID=$STACK_DIR/pg-forward.pid
LAB_REDIS_PID=$STACK_DIR/redis.pid
PULSE_DIR=$STACK_DIR/pulse
PULSE_PID=$STACK_DIR/pulse.pid

up() {
    # PostgreSQL: 127.0.0.1:$PG_PORT here forwards to the host cluster's unix socket. nodelay: without
    # it a result of more than one segment waited for a delayed ACK (+40 ms per query; found by
    # infra/bench loadgen once a tenant had 100 users).
    nohup setsid socat "TCP-LISTEN:$PG_PORT,bind=127.0.0.1,fork,reuseaddr,nodelay" \
        "UNIX-CONNECT:/var/run/postgresql/.s.PGSQL.$PG_PORT" </dev/null >>"$STACK_DIR/pg-forward.log" 2>&1 &
    echo $! >"$PG_FWD_PID"
    wait_tcp 127.0.0.1 "$PG_PORT" 10 "PostgreSQL forwarder"

    mkdir -p "$STACK_DIR/redis"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes --daemonize yes \
        --pidfile "$LAB_REDIS_PID" --dir "$STACK_DIR/redis" --logfile "$STACK_DIR/redis/redis.log" \
        --save '' --appendonly no
    wait_tcp 127.0.0.1 "$REDIS_PORT" 10 "Redis (lab)"

    s3_up "$S3_BIN"
    # Each run starts from clean Asterisk state: no registrations or contacts left from the last run.
    rm -f "$ROOTFS/srv/callbase/$STACK"/{platform,carrier}/lib/astdb.sqlite3
    asterisks_up

    # Firefox needs an audio backend for Web Audio (docs/e2e-lab.md).
    mkdir -p "$PULSE_DIR"
    nohup setsid pulseaudio -n --daemonize=no --exit-idle-time=-1 --system=false \
        -L module-null-sink -L "module-native-protocol-unix socket=$PULSE_DIR/native auth-anonymous=1" \
        </dev/null >>"$STACK_DIR/pulse.log" 2>&1 &
    echo $! >"$PULSE_PID"

    # The server with the workers the phone needs.
    CALLBASE__WORKERS__STASIS=true CALLBASE__WORKERS__REGISTRATION_MONITOR=true \
        CALLBASE__LIMITS__SIGNUPS_PER_IP_PER_HOUR=100000 \
        CALLBASE__WORKERS__RECONCILE_SECS=5 CALLBASE__ASTERISK__SIP_PUBLIC_HOST="$SIP_BIND" \
        app_up
}

down() {
    app_down || true
    stop_pidfile "$PULSE_PID" pulseaudio || true
    ast_down platform || true
    ast_down carrier || true
    s3_down || true
    stop_pidfile "$LAB_REDIS_PID" "Redis (lab)" || true
    stop_pidfile "$PG_FWD_PID" "PostgreSQL forwarder" || true
    rootfs_umount_if_unused || true
}

case ${1:-} in
up) up ;;
down) down ;;
*) die "usage: lab.sh up|down" ;;
esac
