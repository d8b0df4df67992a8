#!/usr/bin/env bash
# tests/e2e/lab.sh up|down — run INSIDE the lab's network namespace by tests/e2e/run: the lab's own
# PostgreSQL (its data thrown away with the lab), Redis (append-only file), callbase-s3, the carrier and platform Asterisks (SIP on
# the namespace address), two callbase server replicas (Stasis worker, registration monitor and probe
# under their leases) and HAProxy in front of them on the app's address (docs/e2e-lab.md).
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
REPO=$(readlink -f "$HERE/../..")
# shellcheck source=../../infra/lib/stack.sh
. "$REPO/infra/lib/stack.sh"

SIP_BIND_OVERRIDE=${CALLBASE_E2E_LAB_ADDR:-10.77.0.1}
stack_config e2e
stack_secrets
# The lab's own PostgreSQL, on the namespace's loopback (tests/e2e/run writes app.env with this port).
PG_PORT=5432
PG_DIR=$STACK_DIR/pg
pg_secrets_ensure

LAB_REDIS_PID=$STACK_DIR/redis.pid
PULSE_DIR=$STACK_DIR/pulse
PULSE_PID=$STACK_DIR/pulse.pid
HAPROXY_PID=$STACK_DIR/haproxy.pid
HAPROXY_SOCK=$STACK_DIR/haproxy.sock
LB_PORT=${APP_ADDR##*:}

# The lab's Redis, with an append-only file so sessions outlive a restart (as in production).
redis_lab_up() {
    pid_alive "$LAB_REDIS_PID" && return 0
    mkdir -p "$STACK_DIR/redis"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes --daemonize yes \
        --pidfile "$LAB_REDIS_PID" --dir "$STACK_DIR/redis" --logfile "$STACK_DIR/redis/redis.log" \
        --save '' --appendonly yes
    wait_tcp 127.0.0.1 "$REDIS_PORT" 10 "Redis (lab)"
}

# SIGKILL, as a crash: what was written to the append-only file in the last second may be lost.
redis_lab_kill() {
    local pid
    pid=$(cat "$LAB_REDIS_PID" 2>/dev/null) || return 0
    kill -9 "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    rm -f "$LAB_REDIS_PID"
}

# replica_port N: replica N (1, 2) listens on the app's port + N; HAProxy listens on the app's port.
replica_port() { echo $((LB_PORT + $1)); }

# replica_up N: `callbase serve` replica N with the workers the phone needs (each under its lease).
replica_up() {
    local n=$1 port pidf=$STACK_DIR/app-r$1.pid i
    port=$(replica_port "$n")
    pid_alive "$pidf" && die "replica $n already runs (pid $(cat "$pidf"))"
    log "starting callbase serve replica $n on 127.0.0.1:$port (log: $STACK_DIR/app-r$n.log)"
    # shellcheck source=/dev/null
    ( set -a; . "$APP_ENV_FILE"; CALLBASE__HTTP__ADDR=127.0.0.1:$port
      CALLBASE__WORKERS__STASIS=true CALLBASE__WORKERS__REGISTRATION_MONITOR=true
      CALLBASE__LIMITS__SIGNUPS_PER_IP_PER_HOUR=100000 CALLBASE__WORKERS__RECONCILE_SECS=5
      CALLBASE__ASTERISK__SIP_PUBLIC_HOST=$SIP_BIND
      # HAProxy checks /readyz every 200 ms and takes a replica out after 2 failures.
      CALLBASE__HTTP__DRAIN_NOTICE_MS=600 CALLBASE__HTTP__DRAIN_SECS=6
      exec nohup setsid "$APP_BIN" serve </dev/null >>"$STACK_DIR/app-r$n.log" 2>&1 ) &
    echo $! >"$pidf"
    for ((i = 0; i < 600; i++)); do
        pid_alive "$pidf" || die "replica $n exited; last log lines:
$(tail -n 20 "$STACK_DIR/app-r$n.log")"
        curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$port/readyz" && return 0
        sleep 0.1
    done
    die "replica $n not ready on 127.0.0.1:$port/readyz within 60 s"
}

replica_down() { stop_pidfile "$STACK_DIR/app-r$1.pid" "callbase serve replica $1"; }

# HAProxy (Debian package) in front of the replicas, on the app's address: WebSockets pass
# (`timeout tunnel`), /readyz decides which replica gets new connections. `balance first`: every new
# connection goes to the first replica that is up, so the tests know where a socket is.
haproxy_up() {
    # With every replica unready (PostgreSQL or Redis down for all of them) HAProxy answers itself:
    # a 503 like the API's own, with Retry-After, instead of its HTML page.
    printf '%s\r\n' 'HTTP/1.1 503 Service Unavailable' 'Cache-Control: no-store' 'Retry-After: 5' \
        'Content-Type: application/json' 'Connection: close' '' \
        '{"code":"unavailable","message":"the service is not reachable at the moment; try again shortly"}' \
        >"$STACK_DIR/haproxy-503.http"
    cat >"$STACK_DIR/haproxy.cfg" <<CFG
global
    stats socket $HAPROXY_SOCK mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    retries 3
    option redispatch
    errorfile 503 $STACK_DIR/haproxy-503.http
frontend app
    bind $APP_ADDR
    default_backend replicas
backend replicas
    balance first
    option httpchk GET /readyz
    http-check expect status 200
    default-server check inter 200 fall 2 rise 2
    server r1 127.0.0.1:$(replica_port 1)
    server r2 127.0.0.1:$(replica_port 2)
CFG
    haproxy -c -q -f "$STACK_DIR/haproxy.cfg" || die "haproxy.cfg is invalid"
    haproxy -D -p "$HAPROXY_PID" -f "$STACK_DIR/haproxy.cfg" || die "haproxy did not start"
    for ((i = 0; i < 100; i++)); do
        curl -fs -o /dev/null --max-time 2 "http://$APP_ADDR/readyz" && { log "HAProxy ready on http://$APP_ADDR"; return 0; }
        sleep 0.1
    done
    die "HAProxy not ready on http://$APP_ADDR within 10 s"
}

up() {
    # PostgreSQL: the lab's own instance (the tests restart it), fresh each run: roles, database,
    # migrations.
    pg_private_init "$PG_DIR"
    pg_private_up "$PG_DIR"
    PGHOST=$PG_DIR pg_roles_ensure
    PGHOST=$PG_DIR pg_db_ensure "$DB_NAME"
    migrate
    nodes_register

    rm -rf "$STACK_DIR/redis"
    redis_lab_up

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

    # Two replicas sharing the stack; the first takes the leases (Stasis, registrations, probe) and
    # gets the traffic, the second stands by (tests/e2e/tests/replicas.test.mjs moves sockets to it).
    replica_up 1
    replica_up 2
    haproxy_up
}

down() {
    stop_pidfile "$HAPROXY_PID" haproxy || true
    replica_down 1 || true
    replica_down 2 || true
    stop_pidfile "$PULSE_PID" pulseaudio || true
    ast_down platform || true
    ast_down carrier || true
    s3_down || true
    stop_pidfile "$LAB_REDIS_PID" "Redis (lab)" || true
    pg_private_down "$PG_DIR" || true
    rootfs_umount_if_unused || true
}

case ${1:-} in
up) up ;;
down) down ;;
# Used by the tests to restart a replica, the lab's PostgreSQL or its Redis.
replica) if [[ ${3:-} == up ]]; then replica_up "$2"; else replica_down "$2"; fi ;;
pg) if [[ ${2:-} == up ]]; then pg_private_up "$PG_DIR"; else pg_private_down "$PG_DIR"; fi ;;
redis) if [[ ${2:-} == up ]]; then redis_lab_up; else redis_lab_kill; fi ;;
*) die "usage: lab.sh up|down|replica N up|down|pg up|down|redis up|down" ;;
esac
