# shellcheck shell=bash disable=SC2034  # variables are used by the other lib files
# Common helpers for infra/dev and infra/test. Sourced, never executed.
# Layout and ports: docs/development.md (the contract) and docs/infra.md.

CALLBASE_CACHE=${CALLBASE_CACHE:-/var/cache/callbase}
INFRA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_ROOT=$(cd "$INFRA_DIR/.." && pwd)
ROOTFS=$CALLBASE_CACHE/rootfs
RUN_DIR=$CALLBASE_CACHE/run
export CALLBASE_CACHE

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; exit 1; }

need_root() { [[ $(id -u) -eq 0 ]] || die "run as root (apt, PostgreSQL roles, chroot and mounts need it)"; }

# An alphanumeric secret: Asterisk splits values on ';' and decodes '^XX', so secrets stay [A-Za-z0-9].
gen_secret() {
    local n=${1:-24} s=''
    while [[ ${#s} -lt $n ]]; do
        s+=$(LC_ALL=C tr -dc 'A-Za-z0-9' < <(head -c 512 /dev/urandom))
    done
    printf '%s' "${s:0:$n}"
}

# ensure_secret FILE VAR [LEN]: load VAR from FILE (shell `VAR=value` lines), generating and appending it
# when absent. Secrets are generated once and reused by every later run.
ensure_secret() {
    local file=$1 var=$2 len=${3:-24} val
    mkdir -p "$(dirname "$file")"
    touch "$file"; chmod 600 "$file"
    val=$(sed -n "s/^${var}=//p" "$file" | tail -n1)
    if [[ -z $val ]]; then
        val=$(gen_secret "$len")
        printf '%s=%s\n' "$var" "$val" >> "$file"
    fi
    printf -v "$var" '%s' "$val"
}

pid_alive() { # pid_alive PIDFILE
    local f=$1 pid
    [[ -s $f ]] || return 1
    pid=$(cat "$f" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] && proc_alive "$pid"
}

proc_alive() { # a zombie (exited, not yet reaped by its parent) counts as dead
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}

tcp_open() { # tcp_open HOST PORT
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

udp_listening() { # udp_listening PORT (any address)
    ss -H -lun "sport = :$1" 2>/dev/null | grep -q .
}

wait_tcp() { # wait_tcp HOST PORT SECONDS WHAT
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        tcp_open "$1" "$2" && return 0
        sleep 0.1
    done
    die "$4 did not open $1:$2 within $3 s"
}

# stop_pidfile PIDFILE NAME: TERM, wait up to 10 s, then KILL. Only the pid recorded in PIDFILE.
stop_pidfile() {
    local f=$1 name=$2 pid i
    if ! pid_alive "$f"; then rm -f "$f"; return 0; fi
    pid=$(cat "$f")
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        proc_alive "$pid" || break
        sleep 0.1
    done
    if proc_alive "$pid"; then
        log "$name did not stop, killing"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
}

apt_ensure() { # apt_ensure PKG... : install only the packages that are missing
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    log "apt-get install ${missing[*]}"
    if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n1) ]]; then
        apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# stack_config STACK: ports, names and paths of the dev or test stack (docs/development.md).
stack_config() {
    STACK=$1
    case $STACK in
    dev)
        DB_NAME=callbase; REDIS_DB=0; S3_PORT=9000; S3_BUCKET=callbase
        ARI_PORT=8088; AMI_PORT=5038; SIP_PORT=5060; RTP_START=10000; RTP_END=10999
        CARRIER_SIP_PORT=5070; CARRIER_AMI_PORT=5039; CARRIER_RTP_START=11000; CARRIER_RTP_END=11999
        TURN_RELAY_START=17000; TURN_RELAY_END=17499
        APP_ADDR=127.0.0.1:8080; PUBLIC_ORIGIN=http://127.0.0.1:8080
        ;;
    test)
        DB_NAME=callbase_test; REDIS_DB=1; S3_PORT=19000; S3_BUCKET=callbase-test
        ARI_PORT=18088; AMI_PORT=15038; SIP_PORT=15060; RTP_START=12000; RTP_END=12999
        CARRIER_SIP_PORT=15070; CARRIER_AMI_PORT=15039; CARRIER_RTP_START=13000; CARRIER_RTP_END=13999
        NODE2_ARI_PORT=18089; NODE2_AMI_PORT=15040; NODE2_SIP_PORT=15062; NODE2_RTP_START=16000; NODE2_RTP_END=16499
        APP_ADDR=127.0.0.1:0; PUBLIC_ORIGIN=http://127.0.0.1:8080
        ;;
    e2e)
        # Runs inside the e2e lab's network namespace (tests/e2e/run): 127.0.0.1 is the namespace's
        # own loopback; SIP and RTP face the namespace's veth address, where the browsers are.
        DB_NAME=callbase_e2e; REDIS_DB=0; S3_PORT=29000; S3_BUCKET=callbase-e2e
        ARI_PORT=28088; AMI_PORT=25038; SIP_PORT=5060; RTP_START=14000; RTP_END=14999
        CARRIER_SIP_PORT=5070; CARRIER_AMI_PORT=25039; CARRIER_RTP_START=15000; CARRIER_RTP_END=15999
        TURN_RELAY_START=17500; TURN_RELAY_END=17999
        APP_ADDR=127.0.0.1:28080; PUBLIC_ORIGIN=http://127.0.0.1:28080
        ;;
    *) die "unknown stack '$STACK' (dev|test|e2e)" ;;
    esac
    STACK_DIR=$RUN_DIR/$STACK
    SECRETS_FILE=$STACK_DIR/secrets.env
    APP_ENV_FILE=$STACK_DIR/app.env
    SIP_BIND=${SIP_BIND_OVERRIDE:-127.0.0.1}
    mkdir -p "$STACK_DIR"
}

# stack_secrets: the per-stack generated credentials (STACK_DIR/secrets.env), created once.
stack_secrets() {
    ensure_secret "$SECRETS_FILE" ARI_PASSWORD 32
    ensure_secret "$SECRETS_FILE" AMI_SECRET 32
    ensure_secret "$SECRETS_FILE" CARRIER_AMI_SECRET 32
    ensure_secret "$SECRETS_FILE" S3_ACCESS_KEY 20
    ensure_secret "$SECRETS_FILE" S3_SECRET_KEY 40
    ensure_secret "$SECRETS_FILE" CARRIER_TRUNK_PASSWORD 24
    ensure_secret "$SECRETS_FILE" CARRIER_TENANT_A_PASSWORD 24
    ensure_secret "$SECRETS_FILE" CARRIER_TENANT_B_PASSWORD 24
    ensure_secret "$SECRETS_FILE" CARRIER_PROBE_PASSWORD 24
    ensure_secret "$SECRETS_FILE" METRICS_TOKEN 32
    ensure_secret "$SECRETS_FILE" TURN_SECRET 32
    ARI_USER=callbase; AMI_USER=callbase; CARRIER_AMI_USER=carrier
    CARRIER_TRUNK_USER=demo-trunk; CARRIER_TENANT_A_USER=tenant-a; CARRIER_TENANT_B_USER=tenant-b
    CARRIER_PROBE_USER=infra-probe # used only by tests/asterisk
}
