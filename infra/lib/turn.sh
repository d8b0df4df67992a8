# shellcheck shell=bash
# The stack's TURN server (coturn, Debian's package; issue #22, item 7): browser phones behind
# firewalls that block direct UDP to Asterisk relay their media through it, over UDP or TCP. The
# server hands each phone session short-lived credentials made from the shared secret
# (`turn.secret`, coturn's `use-auth-secret`; server/api/src/turn.rs). Dev stack: on 127.0.0.1;
# e2e lab: on the lab's address inside its namespace. The test stack has none.

TURN_PORT=3478

turn_pidfile() { echo "$STACK_DIR/turn/turnserver.pid"; }

# turn_up: coturn on $SIP_BIND:$TURN_PORT (UDP and TCP), relaying from ports TURN_RELAY_START..END
# of the same address. Its configuration holds the secret: written 0600, never on a command line.
turn_up() {
    local dir=$STACK_DIR/turn pidf
    pidf=$(turn_pidfile)
    pid_alive "$pidf" && return 0
    mkdir -p "$dir"
    (
        umask 077
        cat >"$dir/turnserver.conf" <<CONF
listening-ip=$SIP_BIND
relay-ip=$SIP_BIND
listening-port=$TURN_PORT
min-port=$TURN_RELAY_START
max-port=$TURN_RELAY_END
use-auth-secret
static-auth-secret=$TURN_SECRET
realm=callbase
fingerprint
no-tls
no-dtls
no-cli
no-multicast-peers
$([[ $SIP_BIND == 127.* ]] && echo allow-loopback-peers)
pidfile=$pidf
log-file=stdout
simple-log
CONF
    )
    log "starting coturn on $SIP_BIND:$TURN_PORT (relay ports $TURN_RELAY_START-$TURN_RELAY_END)"
    nohup setsid turnserver -c "$dir/turnserver.conf" </dev/null >>"$dir/turn.log" 2>&1 &
    echo $! >"$pidf"
    wait_tcp "$SIP_BIND" "$TURN_PORT" 10 "coturn"
}

turn_down() { stop_pidfile "$(turn_pidfile)" coturn; }
