# shellcheck shell=bash
# Redis: one server on 127.0.0.1:6379 shared by both stacks (dev uses DB 0, test DB 1).

REDIS_PORT=6379
REDIS_DIR=$RUN_DIR/redis
REDIS_PID=$REDIS_DIR/redis.pid

redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

redis_up() {
    apt_ensure redis-server
    if redis_ping; then
        log "Redis already answers on 127.0.0.1:$REDIS_PORT: reusing it"
        return 0
    fi
    mkdir -p "$REDIS_DIR"
    log "starting Redis on 127.0.0.1:$REDIS_PORT"
    # AOF (fsync every second): sessions, device keys and socket epochs survive a Redis restart;
    # a crash loses at most the last second of writes.
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes \
        --daemonize yes --pidfile "$REDIS_PID" --dir "$REDIS_DIR" \
        --logfile "$REDIS_DIR/redis.log" --save '' --appendonly yes --appendfsync everysec
    local i
    for ((i = 0; i < 50; i++)); do redis_ping && return 0; sleep 0.1; done
    die "Redis did not answer on 127.0.0.1:$REDIS_PORT (see $REDIS_DIR/redis.log)"
}

redis_down_if_started() {
    if pid_alive "$REDIS_PID"; then
        stop_pidfile "$REDIS_PID" redis
    else
        log "Redis was not started by infra: leaving it running"
    fi
}
