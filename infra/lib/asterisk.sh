# shellcheck shell=bash disable=SC2034  # variables are used by the other lib files
# Asterisk 22 from a Debian sid root filesystem, run with chroot; two instances per stack:
# "platform" (templates in infra/asterisk) and "carrier" (templates in infra/carrier).
# Instance directories live inside the rootfs at /srv/callbase/<stack>/<instance> and are linked
# from $CALLBASE_CACHE/run/<stack>/asterisk-<instance>.

ROOTFS_STAMP=$ROOTFS/.callbase-rootfs-done
AST_BIN=/usr/sbin/asterisk

# The Debian mirror of this host, read from its apt sources (never hard-coded).
debian_mirror() {
    local uri=''
    if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
        uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
            /etc/apt/sources.list.d/debian.sources)
    fi
    if [[ -z $uri && -f /etc/apt/sources.list ]]; then
        uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($i !~ /security/) { print $i; exit } } }' \
            /etc/apt/sources.list)
    fi
    [[ -n $uri ]] || die "cannot find a Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
    printf '%s' "$uri"
}

rootfs_ensure() {
    if [[ -e $ROOTFS_STAMP ]]; then
        rootfs_sounds
        return 0
    fi
    apt_ensure debootstrap
    local partial=$CALLBASE_CACHE/rootfs.partial mirror
    mirror=$(debian_mirror)
    rootfs_umount_all "$partial"
    rm -rf --one-file-system "$partial"
    log "building the Asterisk rootfs with debootstrap (sid, ~1-3 min) into $partial"
    debootstrap --variant=minbase --include=asterisk,asterisk-modules sid "$partial" "$mirror" \
        >"$CALLBASE_CACHE/debootstrap.log" 2>&1 || die "debootstrap failed, see $CALLBASE_CACHE/debootstrap.log"
    rootfs_finish "$partial"
    [[ ! -e $ROOTFS ]] || { rootfs_umount_all "$ROOTFS"; rm -rf --one-file-system "$ROOTFS"; }
    mv "$partial" "$ROOTFS"
    date -u +%FT%TZ >"$ROOTFS_STAMP"
    log "rootfs ready: $ROOTFS ($(chroot "$ROOTFS" "$AST_BIN" -V))"
    rootfs_sounds
}

# rootfs_sounds: Debian's Russian core sounds beside the English ones (queue, voicemail and menu
# prompts in the tenant's prompt language, issue #19). The rootfs resolves names to loopback only,
# so the packages (architecture-independent) are fetched by the host's apt and installed with the
# rootfs's dpkg; an existing rootfs gets them on its next start.
rootfs_sounds() {
    # The prompt directories are absolute symlinks (update-alternatives): look from inside.
    chroot "$ROOTFS" test -e /usr/share/asterisk/sounds/ru/queue-youarenext.gsm && return 0
    local dir
    dir=$(mktemp -d "$ROOTFS/tmp/sounds.XXXXXX")
    log "adding the Russian core sounds to the rootfs"
    (cd "$dir" && apt-get download -qq asterisk-core-sounds-ru asterisk-core-sounds-ru-gsm >/dev/null 2>&1) || {
        apt-get update -qq && (cd "$dir" && apt-get download -qq asterisk-core-sounds-ru asterisk-core-sounds-ru-gsm >/dev/null)
    } || die "cannot download the Russian core sounds"
    chroot "$ROOTFS" sh -c "dpkg -i /tmp/${dir##*/}/*.deb" >"$CALLBASE_CACHE/sounds-ru.log" 2>&1 ||
        die "installing the Russian core sounds failed, see $CALLBASE_CACHE/sounds-ru.log"
    rm -rf --one-file-system "$dir"
    chroot "$ROOTFS" test -e /usr/share/asterisk/sounds/ru/queue-youarenext.gsm ||
        die "the Russian core sounds are not where Asterisk looks"
}

# Loopback-only name resolution: otherwise Asterisk's lookups leave the machine (or stall ~6 s).
rootfs_finish() {
    local dir=$1
    [[ -x $dir$AST_BIN ]] || die "asterisk missing in $dir"
    rm -f "$dir/etc/resolv.conf"
    printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$dir/etc/resolv.conf"
    printf '127.0.0.1 localhost callbase-asterisk\n::1 localhost ip6-localhost ip6-loopback\n' >"$dir/etc/hosts"
    printf 'callbase-asterisk\n' >"$dir/etc/hostname"
    mkdir -p "$dir/srv/callbase"
}

is_mounted() { mountpoint -q "$1" 2>/dev/null; }

rootfs_mount() {
    # Asterisk resolves this host's name at start (same UTS namespace as the host): answer locally.
    local h
    h=$(hostname 2>/dev/null || true)
    if [[ -n $h ]] && ! grep -qw -- "$h" "$ROOTFS/etc/hosts"; then
        printf '127.0.1.1 %s\n' "$h" >>"$ROOTFS/etc/hosts"
    fi
    is_mounted "$ROOTFS/dev" || mount --bind /dev "$ROOTFS/dev"
    is_mounted "$ROOTFS/proc" || mount -t proc proc "$ROOTFS/proc"
}

rootfs_umount_all() { # unconditional, for a rootfs being rebuilt
    local dir=$1
    [[ -d $dir ]] || return 0
    is_mounted "$dir/proc" && umount "$dir/proc"
    is_mounted "$dir/dev" && umount -l "$dir/dev"
    return 0
}

# Unmount /dev and /proc of the rootfs only when no Asterisk instance (any stack) still runs.
rootfs_umount_if_unused() {
    local pidf
    for pidf in "$RUN_DIR"/*/asterisk-*.pid; do
        [[ -e $pidf ]] || continue
        if pid_alive "$pidf"; then
            log "rootfs still used by $(basename "$(dirname "$pidf")")/$(basename "$pidf" .pid): keeping /dev and /proc mounted"
            return 0
        fi
    done
    rootfs_umount_all "$ROOTFS"
}

ast_inst_dir() { printf '/srv/callbase/%s/%s' "$STACK" "$1"; } # path inside the chroot
ast_conf() { printf '%s/etc/asterisk.conf' "$(ast_inst_dir "$1")"; }
ast_pidfile() { printf '%s/asterisk-%s.pid' "$STACK_DIR" "$1"; }

ast_rx() { # ast_rx INSTANCE COMMAND: run a CLI command against a running instance
    chroot "$ROOTFS" "$AST_BIN" -C "$(ast_conf "$1")" -rx "$2"
}

# ast_render INSTANCE TEMPLATE_DIR: substitute @VAR@ placeholders from the current shell variables.
ast_render() {
    local inst=$1 tdir=$2 dir sub=() var f name
    dir=$ROOTFS$(ast_inst_dir "$inst")
    mkdir -p "$dir"/{etc,run,log,lib,spool/recording,cache,keys,moh}
    moh_generate "$dir/moh/callbase-hold.sln"
    rm -f "$dir"/etc/*.conf
    AST_INST_DIR=$(ast_inst_dir "$inst")
    AST_SYSTEM_NAME=callbase-$STACK-$inst
    : "${PG_AST_USER:=callbase_ast}"
    # ARI, AMI and the database on loopback, unless the node is another host (the e2e lab's nodes).
    : "${ARI_BIND:=127.0.0.1}" "${AMI_BIND:=127.0.0.1}" "${AMI_PERMIT:=127.0.0.1/255.255.255.255}" "${PG_AST_HOST:=127.0.0.1}"
    for var in AST_INST_DIR AST_SYSTEM_NAME STACK DB_NAME PG_PORT PG_AST_USER PG_AST_PASSWORD PG_AST_HOST ARI_BIND AMI_BIND AMI_PERMIT \
        ARI_PORT ARI_USER ARI_PASSWORD AMI_PORT AMI_USER AMI_SECRET SIP_BIND SIP_PORT RTP_START RTP_END \
        CARRIER_SIP_PORT CARRIER_AMI_PORT CARRIER_AMI_USER CARRIER_AMI_SECRET CARRIER_RTP_START CARRIER_RTP_END \
        CARRIER_TRUNK_USER CARRIER_TRUNK_PASSWORD CARRIER_TENANT_A_USER CARRIER_TENANT_A_PASSWORD \
        CARRIER_TENANT_B_USER CARRIER_TENANT_B_PASSWORD CARRIER_PROBE_USER CARRIER_PROBE_PASSWORD; do
        [[ ${!var+x} ]] || continue
        sub+=(-e "s|@${var}@|${!var}|g")
    done
    for f in "$tdir"/*.conf; do
        name=$(basename "$f")
        sed "${sub[@]}" "$f" >"$dir/etc/$name"
        if grep -qE '@[A-Z][A-Z0-9_]*@' "$dir/etc/$name"; then
            die "unrendered placeholder in $dir/etc/$name: $(grep -oE '@[A-Z][A-Z0-9_]*@' "$dir/etc/$name" | sort -u | tr '\n' ' ')"
        fi
    done
    chmod 700 "$dir/etc"; chmod 600 "$dir"/etc/*.conf
    ln -sfn "$dir" "$STACK_DIR/asterisk-$inst"
}

# moh_generate FILE: 8 s of music-on-hold in signed linear 8 kHz (.sln): a soft 444 Hz / 333 Hz
# two-note pattern with pauses. Generated, because the Debian rootfs carries no sound files.
moh_generate() {
    local file=$1 hi lo tone1='' tone2='' silence='' i
    [[ -s $file ]] && return 0
    hi='\xd0\x07'; lo='\x30\xf8' # +2000 / -2000
    for ((i = 0; i < 9; i++)); do tone1+=$hi; done
    for ((i = 0; i < 9; i++)); do tone1+=$lo; done  # 18 samples: 444 Hz
    for ((i = 0; i < 12; i++)); do tone2+=$hi; done
    for ((i = 0; i < 12; i++)); do tone2+=$lo; done # 24 samples: 333 Hz
    for ((i = 0; i < 100; i++)); do silence+='\x00\x00'; done
    {
        for ((i = 0; i < 4; i++)); do
            local n
            for ((n = 0; n < 222; n++)); do printf '%b' "$tone1"; done   # 0.5 s
            for ((n = 0; n < 20; n++)); do printf '%b' "$silence"; done  # 0.25 s
            for ((n = 0; n < 166; n++)); do printf '%b' "$tone2"; done   # 0.5 s
            for ((n = 0; n < 60; n++)); do printf '%b' "$silence"; done  # 0.75 s
        done
    } >"$file.tmp"
    mv "$file.tmp" "$file"
}

ast_up() { # ast_up INSTANCE TEMPLATE_DIR
    local inst=$1 tdir=$2 pidf i out
    pidf=$(ast_pidfile "$inst")
    ast_render "$inst" "$tdir"
    rootfs_mount
    if pid_alive "$pidf"; then
        log "Asterisk $STACK/$inst already running (pid $(cat "$pidf")): reloading its config"
        ast_rx "$inst" 'core reload' >/dev/null || true
        return 0
    fi
    log "starting Asterisk $STACK/$inst"
    # Without the caller's open files: a lock a test runner holds (flock) must not live on in Asterisk.
    (
        for fd in /proc/$BASHPID/fd/*; do
            fd=${fd##*/}
            ((fd > 2)) && eval "exec $fd>&-"
        done
        exec nohup setsid chroot "$ROOTFS" "$AST_BIN" -f -n -C "$(ast_conf "$inst")" \
            </dev/null >>"$STACK_DIR/asterisk-$inst.log" 2>&1
    ) &
    echo $! >"$pidf"
    for ((i = 0; i < 300; i++)); do
        pid_alive "$pidf" || die "Asterisk $STACK/$inst exited during start; see $STACK_DIR/asterisk-$inst.log and $STACK_DIR/asterisk-$inst/log/messages.log"
        # -rx also returns when an instance exits during boot: check the answer and the pid
        out=$(timeout 20 chroot "$ROOTFS" "$AST_BIN" -C "$(ast_conf "$inst")" -rx 'core waitfullybooted' 2>/dev/null) || true
        if [[ $out == *'fully booted'* ]] && pid_alive "$pidf"; then
            log "Asterisk $STACK/$inst fully booted (pid $(cat "$pidf"))"
            return 0
        fi
        sleep 0.1
    done
    die "Asterisk $STACK/$inst did not boot within 30 s"
}

ast_down() { # ast_down INSTANCE: graceful stop (un-REGISTERs trunks), then TERM/KILL
    local inst=$1 pidf pid i
    pidf=$(ast_pidfile "$inst")
    if ! pid_alive "$pidf"; then rm -f "$pidf"; return 0; fi
    pid=$(cat "$pidf")
    log "stopping Asterisk $STACK/$inst (pid $pid): core stop gracefully"
    timeout 10 chroot "$ROOTFS" "$AST_BIN" -C "$(ast_conf "$inst")" -rx 'core stop gracefully' >/dev/null 2>&1 || true
    for ((i = 0; i < 100; i++)); do
        proc_alive "$pid" || break
        sleep 0.1
    done
    stop_pidfile "$pidf" "Asterisk $STACK/$inst"
}

ast_platform_up() { ast_up platform "$INFRA_DIR/asterisk"; }
# The test stack's second platform node (issue #17): the same templates on ports of its own, reading
# `ast` as callbase_ast_node2, so it sees only the tenants placed on node "node2".
ast_node2_up() {
    (
        ARI_PORT=$NODE2_ARI_PORT AMI_PORT=$NODE2_AMI_PORT SIP_PORT=$NODE2_SIP_PORT
        RTP_START=$NODE2_RTP_START RTP_END=$NODE2_RTP_END
        PG_AST_USER=callbase_ast_node2 PG_AST_PASSWORD=$PG_AST_NODE2_PASSWORD
        ast_up node2 "$INFRA_DIR/asterisk"
    )
}
ast_carrier_up() { ast_up carrier "$INFRA_DIR/carrier"; }
