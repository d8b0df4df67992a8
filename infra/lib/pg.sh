# shellcheck shell=bash
# PostgreSQL: the shared Debian cluster, the callbase roles, one database per stack.

PG_SECRETS_FILE=$RUN_DIR/pg-secrets.env
PG_STARTED_MARK=$RUN_DIR/.started-postgresql

pg_cluster() { # sets PG_VERSION PG_CLUSTER PG_PORT PG_STATUS from the first Debian cluster
    local line
    line=$(pg_lsclusters -h 2>/dev/null | head -n1) || true
    [[ -n $line ]] || die "no PostgreSQL cluster (pg_lsclusters is empty); install postgresql"
    read -r PG_VERSION PG_CLUSTER PG_PORT PG_STATUS _ <<<"$line"
}

psql_su() { # psql as the postgres superuser over the unix socket
    runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@"
}

pg_up() {
    apt_ensure postgresql postgresql-client
    pg_cluster
    if [[ $PG_STATUS != online* ]]; then
        log "starting PostgreSQL cluster $PG_VERSION/$PG_CLUSTER"
        pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start
        touch "$PG_STARTED_MARK"
        pg_cluster
    fi
    local i
    for ((i = 0; i < 50; i++)); do
        runuser -u postgres -- pg_isready -q -p "$PG_PORT" && break
        sleep 0.2
    done
    pg_hba_ensure
    pg_roles_ensure
}

# Password logins (scram-sha-256) over 127.0.0.1 TCP: the app, migrations and Asterisk all use them.
pg_hba_ensure() {
    local hba
    hba=$(psql_su -At -c 'SHOW hba_file')
    if ! grep -Eq '^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+(scram-sha-256|md5)' "$hba"; then
        log "adding a scram-sha-256 line for 127.0.0.1 to $hba"
        sed -i '0,/^[[:space:]]*\(local\|host\)/s//host all all 127.0.0.1\/32 scram-sha-256\n&/' "$hba"
        psql_su -c 'SELECT pg_reload_conf()' >/dev/null
    fi
    # The e2e lab reaches PostgreSQL through its unix socket from another network namespace: our
    # roles authenticate with their passwords there too (everyone else keeps peer auth).
    if ! grep -Eq '^[[:space:]]*local[[:space:]]+all[[:space:]]+callbase_owner,callbase_app,callbase_worker,callbase_ast[[:space:]]' "$hba"; then
        log "adding a scram-sha-256 unix-socket line for the callbase roles to $hba"
        sed -i '0,/^[[:space:]]*\(local\|host\)/s//local all callbase_owner,callbase_app,callbase_worker,callbase_ast scram-sha-256\n&/' "$hba"
        psql_su -c 'SELECT pg_reload_conf()' >/dev/null
    fi
    local listen
    listen=$(psql_su -At -c 'SHOW listen_addresses')
    [[ $listen == *localhost* || $listen == *127.0.0.1* || $listen == '*' ]] ||
        die "PostgreSQL listen_addresses='$listen' does not include 127.0.0.1"
}

pg_secrets_ensure() { # the roles' passwords (RUN_DIR/pg-secrets.env), created once
    ensure_secret "$PG_SECRETS_FILE" PG_OWNER_PASSWORD 32
    ensure_secret "$PG_SECRETS_FILE" PG_APP_PASSWORD 32
    ensure_secret "$PG_SECRETS_FILE" PG_WORKER_PASSWORD 32
    ensure_secret "$PG_SECRETS_FILE" PG_AST_PASSWORD 32
    ensure_secret "$PG_SECRETS_FILE" PG_AST_NODE1_PASSWORD 32
    ensure_secret "$PG_SECRETS_FILE" PG_AST_NODE2_PASSWORD 32
    ensure_secret "$PG_SECRETS_FILE" PG_KAMAILIO_PASSWORD 32
}

# The e2e lab's own PostgreSQL (issue #16: the lab restarts it during calls, and the host cluster is
# shared with the dev and test stacks). It runs inside the lab's network namespace, listens on the
# namespace's 127.0.0.1:$PG_PORT (and PG_LISTEN_EXTRA, the address the lab's other namespaces reach)
# and a private socket directory, and starts from an empty data
# directory each run. Durability settings are off: it is thrown away with the lab.
pg_private_bin() { printf '/usr/lib/postgresql/%s/bin' "$(ls /usr/lib/postgresql | sort -V | tail -n1)"; }

pg_private_init() { # pg_private_init DIR
    local dir=$1
    rm -rf "$dir"
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    chmod 700 "$dir"
    runuser -u postgres -- "$(pg_private_bin)/initdb" -D "$dir/data" -U postgres -E UTF8 \
        --auth-local=peer --auth-host=scram-sha-256 >/dev/null || die "initdb $dir/data failed"
    # The lab's Asterisk nodes in namespaces of their own reach it over their links (PG_LISTEN_EXTRA).
    printf 'host all all 10.77.0.0/16 scram-sha-256\n' >>"$dir/data/pg_hba.conf"
}

pg_private_up() { # pg_private_up DIR: start it (unless it runs) and wait until it answers
    local dir=$1
    runuser -u postgres -- "$(pg_private_bin)/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 && return 0
    runuser -u postgres -- "$(pg_private_bin)/pg_ctl" -D "$dir/data" -l "$dir/postgresql.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1${PG_LISTEN_EXTRA:+,$PG_LISTEN_EXTRA} -c port=$PG_PORT -c unix_socket_directories=$dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null || die "the lab's PostgreSQL did not start (log: $dir/postgresql.log)"
}

pg_private_down() { # pg_private_down DIR: fast shutdown (sessions are cut, as in a crash or restart)
    local dir=$1
    [[ -f $dir/data/postmaster.pid ]] || return 0
    runuser -u postgres -- "$(pg_private_bin)/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null
}

pg_roles_ensure() {
    pg_secrets_ensure
    psql_su -d postgres \
        -v owner_pw="$PG_OWNER_PASSWORD" -v app_pw="$PG_APP_PASSWORD" \
        -v worker_pw="$PG_WORKER_PASSWORD" -v ast_pw="$PG_AST_PASSWORD" \
        -v ast_node1_pw="$PG_AST_NODE1_PASSWORD" -v ast_node2_pw="$PG_AST_NODE2_PASSWORD" -v kamailio_pw="$PG_KAMAILIO_PASSWORD" <<'SQL' >/dev/null
SELECT format('CREATE ROLE %I', r)
  FROM unnest(ARRAY['callbase_owner','callbase_app','callbase_worker','callbase_ast','callbase_ast_node1','callbase_ast_node2','callbase_kamailio']) r
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) \gexec
SET password_encryption = 'scram-sha-256';
ALTER ROLE callbase_owner  LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS PASSWORD :'owner_pw';
ALTER ROLE callbase_app    LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS PASSWORD :'app_pw';
ALTER ROLE callbase_worker LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB BYPASSRLS   PASSWORD :'worker_pw';
ALTER ROLE callbase_ast    LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS PASSWORD :'ast_pw';
-- The other Asterisk nodes of the test stack (node2) and the e2e lab (node1, node2) read `ast` as
-- roles of their own (migration 0021: a node's role sees only the rows of the tenants on that node);
-- callbase_ast serves the first node.
ALTER ROLE callbase_ast_node1 LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS PASSWORD :'ast_node1_pw';
ALTER ROLE callbase_ast_node2 LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS PASSWORD :'ast_node2_pw';
GRANT callbase_ast TO callbase_ast_node1, callbase_ast_node2;
-- The SIP edge (infra/kamailio/edge.cfg) reads the views of migration 0022 (schema kamailio) and
-- nothing else. Kamailio quotes table names whole ("kamailio.dispatcher" would be one identifier),
-- so the role finds them unqualified through its search_path.
ALTER ROLE callbase_kamailio LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS PASSWORD :'kamailio_pw';
ALTER ROLE callbase_kamailio SET search_path = kamailio;
SQL
}

pg_db_ensure() { # pg_db_ensure NAME
    local exists
    exists=$(psql_su -d postgres -At -c "SELECT 1 FROM pg_database WHERE datname = '$1'")
    if [[ $exists != 1 ]]; then
        log "creating database $1 (owner callbase_owner)"
        psql_su -d postgres -c "CREATE DATABASE \"$1\" OWNER callbase_owner ENCODING 'UTF8' TEMPLATE template0"
    fi
    psql_su -d "$1" -c 'REVOKE ALL ON DATABASE "'"$1"'" FROM PUBLIC' \
        -c 'GRANT CONNECT, TEMPORARY ON DATABASE "'"$1"'" TO callbase_app, callbase_worker, callbase_ast, callbase_kamailio' >/dev/null
}

pg_db_recreate() { # pg_db_recreate NAME: drop (terminating sessions) and create again
    log "recreating database $1"
    psql_su -d postgres -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >/dev/null
    pg_db_ensure "$1"
}

pg_url() { # pg_url ROLE PASSWORD DB
    printf 'postgres://%s:%s@127.0.0.1:%s/%s' "$1" "$2" "$PG_PORT" "$3"
}

pg_down_if_started() {
    [[ -e $PG_STARTED_MARK ]] || { log "PostgreSQL was not started by infra: leaving it running"; return 0; }
    pg_cluster
    log "stopping PostgreSQL cluster $PG_VERSION/$PG_CLUSTER"
    pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" stop || true
    rm -f "$PG_STARTED_MARK"
}
