#!/usr/bin/env bash
# tests/e2e/lab.sh up|down — run INSIDE the lab's network namespace by tests/e2e/run: the lab's own
# PostgreSQL (its data thrown away with the lab), Redis (append-only file), callbase-s3, the carrier and platform Asterisks (SIP on
# the namespace address), two callbase server replicas (Stasis worker, registration monitor and probe
# under their leases) and HAProxy in front of them on the app's address (docs/e2e-lab.md); and for
# the node tests (issue #17) two more platform Asterisk nodes, node1 and node2, each in a namespace
# of its own (cb-e2e-n1, cb-e2e-n2, linked to the lab's), with the Kamailio SIP edge in front of them.
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
# The other namespaces (the nodes') reach the lab's PostgreSQL on the lab's address.
PG_LISTEN_EXTRA=$SIP_BIND
# The SIP edge (Kamailio) on the lab's address; desk phones of the node tests register there.
EDGE_PORT=5065
EDGE_DIR=$STACK_DIR/edge
EDGE_PID=$EDGE_DIR/kamailio.pid

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

# The lab's nodes 1 and 2 (issue #17): Asterisk N runs in namespace cb-e2e-nN at 10.77.N.2 (the lab
# side of the link is 10.77.N.1, tests/e2e/run), with SIP, RTP, ARI and AMI on that address — the
# nodes are other hosts here, as in a cluster — reading `ast` from the lab's PostgreSQL over the link
# as callbase_ast_nodeN, so it sees only the tenants placed on nodeN.
node_addr() { echo "10.77.$1.2"; }
node_ast_inside() { # runs inside cb-e2e-nN (lab.sh node-inside N)
    local n=$1 pw_var=PG_AST_NODE$1_PASSWORD
    SIP_BIND=$(node_addr "$n") SIP_PORT=5060 ARI_BIND=$(node_addr "$n") AMI_BIND=$(node_addr "$n")
    AMI_PERMIT=10.77.$n.1/255.255.255.255 PG_AST_HOST=$PG_LISTEN_EXTRA
    PG_AST_USER=callbase_ast_node$n PG_AST_PASSWORD=${!pw_var}
    RTP_START=$((16000 + (n - 1) * 500)) RTP_END=$((16499 + (n - 1) * 500))
    ast_up "node$n" "$INFRA_DIR/asterisk"
}
node_up() {
    rm -f "$ROOTFS/srv/callbase/$STACK/node$1/lib/astdb.sqlite3"
    ip netns exec "cb-e2e-n$1" env APP_BIN="$APP_BIN" S3_BIN="${S3_BIN:-}" bash "$HERE/lab.sh" node-inside "$1"
}
# SIGKILL: the node dies with its calls and registrations (tests/e2e/tests/nodes.test.mjs).
node_kill() {
    local pidf pid
    pidf=$(ast_pidfile "node$1")
    pid=$(cat "$pidf" 2>/dev/null) || return 0
    kill -9 "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    rm -f "$pidf"
}
# The lab's nodes in the registry, draining (they take no new tenant) until the node tests open them.
nodes_register_lab() {
    local n a
    for n in 1 2; do
        a=$(node_addr "$n")
        run_app node register --id "node$n" --ari-url "http://$a:$ARI_PORT" --ami-addr "$a:$AMI_PORT" \
            --sip-addr "$a:5060" --db-role "callbase_ast_node$n" >/dev/null || die "cannot register node$n"
        run_app node state "node$n" draining >/dev/null || die "cannot set node$n draining"
    done
}

# edge_up: Kamailio from infra/kamailio/edge.cfg on the lab's address, reading the nodes and accounts
# as callbase_kamailio.
edge_up() {
    local url i
    pid_alive "$EDGE_PID" && return 0
    mkdir -p "$EDGE_DIR"
    url=$(pg_url callbase_kamailio "$PG_KAMAILIO_PASSWORD" "$DB_NAME")
    kamailio -f "$INFRA_DIR/kamailio/edge.cfg" -m 128 -M 4 -P "$EDGE_PID" -l "udp:$SIP_BIND:$EDGE_PORT" \
        -Y "$EDGE_DIR" -A "DB_URL=\"$url\"" -A "SQL_CON=\"edge=>$url\"" \
        -A "CTL_SOCKET=\"unix:$EDGE_DIR/ctl.sock\"" -E >>"$EDGE_DIR/kamailio.log" 2>&1 ||
        die "the SIP edge did not start (log: $EDGE_DIR/kamailio.log)"
    for ((i = 0; i < 100; i++)); do
        kamcmd -s "unix:$EDGE_DIR/ctl.sock" core.version >/dev/null 2>&1 && { log "SIP edge on $SIP_BIND:$EDGE_PORT"; return 0; }
        sleep 0.1
    done
    die "the SIP edge did not answer within 10 s (log: $EDGE_DIR/kamailio.log)"
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
    nodes_register_lab

    rm -rf "$STACK_DIR/redis"
    redis_lab_up

    s3_up "$S3_BIN"
    # Each run starts from clean Asterisk state: no registrations or contacts left from the last run.
    rm -f "$ROOTFS/srv/callbase/$STACK"/{platform,carrier}/lib/astdb.sqlite3
    asterisks_up
    turn_up
    node_up 1
    node_up 2
    edge_up

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
    stop_pidfile "$EDGE_PID" "SIP edge" || true
    ast_down node1 || true
    ast_down node2 || true
    ast_down platform || true
    ast_down carrier || true
    turn_down || true
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
# The node tests kill node 1 and start it again.
node) case ${3:-} in up) node_up "$2" ;; kill) node_kill "$2" ;; *) die "usage: lab.sh node N up|kill" ;; esac ;;
node-inside) node_ast_inside "$2" ;;
*) die "usage: lab.sh up|down|replica N up|down|pg up|down|redis up|down|node N up|kill" ;;
esac
