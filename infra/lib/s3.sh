# shellcheck shell=bash
# callbase-s3: the s3s-fs based, signature-checking S3 store of a stack (server/devs3).

s3_up() { # s3_up BIN
    local bin=$1 pidf=$STACK_DIR/s3.pid
    [[ -x $bin ]] || die "callbase-s3 binary missing at $bin (did the cargo build fail?)"
    if pid_alive "$pidf" && tcp_open 127.0.0.1 "$S3_PORT"; then
        log "callbase-s3 ($STACK) already running on 127.0.0.1:$S3_PORT"
        return 0
    fi
    tcp_open 127.0.0.1 "$S3_PORT" && die "port 127.0.0.1:$S3_PORT is taken by another process (S3 of stack $STACK)"
    mkdir -p "$STACK_DIR/s3/$S3_BUCKET"
    log "starting callbase-s3 ($STACK) on 127.0.0.1:$S3_PORT bucket $S3_BUCKET"
    # keys through the environment (CALLBASE_S3_ACCESS_KEY/SECRET_KEY), not argv: ps shows argv
    CALLBASE_S3_ACCESS_KEY=$S3_ACCESS_KEY CALLBASE_S3_SECRET_KEY=$S3_SECRET_KEY \
        nohup setsid "$bin" --root "$STACK_DIR/s3" --addr "127.0.0.1:$S3_PORT" --bucket "$S3_BUCKET" \
        </dev/null >>"$STACK_DIR/s3.log" 2>&1 &
    echo $! >"$pidf"
    wait_tcp 127.0.0.1 "$S3_PORT" 20 "callbase-s3 (log: $STACK_DIR/s3.log)"
}

s3_down() { stop_pidfile "$STACK_DIR/s3.pid" "callbase-s3 ($STACK)"; }
