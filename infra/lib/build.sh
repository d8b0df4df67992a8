# shellcheck shell=bash
# Builds: the Rust workspace (shared CARGO_TARGET_DIR in the cache) and the web app.

# A caller's own CARGO_TARGET_DIR wins (a second git worktree must not share the cache's: cargo names
# workspace crates' artifacts by their path inside the workspace, so two checkouts overwrite each other).
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$CALLBASE_CACHE/target}

rust_ensure() {
    apt_ensure build-essential pkg-config libssl-dev libmp3lame-dev
    if ! command -v cargo >/dev/null; then
        [[ -x $HOME/.cargo/bin/cargo ]] && export PATH=$HOME/.cargo/bin:$PATH
    fi
    command -v cargo >/dev/null || die "cargo not found: install Rust (rustup) first"
}

# rust_lint: rustfmt and clippy (-D warnings) over the workspace, with the components added when missing.
rust_lint() {
    rust_ensure
    if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
        command -v rustup >/dev/null || die "cargo fmt/clippy missing and no rustup to add them"
        rustup component add rustfmt clippy
    fi
    (cd "$REPO_ROOT" && cargo fmt --all --check) || { log "cargo fmt --all --check: run cargo fmt --all"; return 1; }
    (cd "$REPO_ROOT" && cargo clippy --workspace --all-targets --quiet -- -D warnings)
}

# build_rust PROFILE (release|debug): builds callbase-app and callbase-devs3, sets APP_BIN and S3_BIN.
build_rust() {
    local profile=$1 flags=()
    rust_ensure
    [[ $profile == release ]] && flags+=(--release)
    log "cargo build ${flags[*]} -p callbase-app -p callbase-devs3 (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
    (cd "$REPO_ROOT" && cargo build "${flags[@]}" -p callbase-app -p callbase-devs3) ||
        die "cargo build failed (see the compiler output above)"
    APP_BIN=$CARGO_TARGET_DIR/$profile/callbase
    S3_BIN=$CARGO_TARGET_DIR/$profile/callbase-s3
    [[ -x $APP_BIN ]] || die "cargo build did not produce $APP_BIN"
    [[ -x $S3_BIN ]] || die "cargo build did not produce $S3_BIN"
}

node_ensure() {
    command -v node >/dev/null && command -v npm >/dev/null && return 0
    apt_ensure nodejs npm
}

npm_install() { # npm ci when there is a lockfile, npm install otherwise
    if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
}

build_web() {
    if [[ ! -f $REPO_ROOT/web/package.json ]]; then
        log "web/package.json absent: skipping the web build"
        return 0
    fi
    node_ensure
    log "building web/ (npm ci && npm run build)"
    (cd "$REPO_ROOT/web" && npm_install && npm run build) || die "web build failed"
}

# sqlx_cli_ensure: sqlx-cli matching the workspace's sqlx (0.8), in the cache, on PATH; sets SQLX_BIN.
SQLX_CLI_VERSION=0.8.6
sqlx_cli_ensure() {
    rust_ensure
    local root=$CALLBASE_CACHE/tools/sqlx-cli-$SQLX_CLI_VERSION
    if [[ ! -x $root/bin/cargo-sqlx ]]; then
        log "installing sqlx-cli $SQLX_CLI_VERSION into $root"
        # Its own target dir: never the workspace's (a cargo install there would evict nothing, but
        # the two builds would wait on each other's lock).
        CARGO_TARGET_DIR=$CALLBASE_CACHE/tools/sqlx-cli-build cargo install sqlx-cli --locked \
            --version "$SQLX_CLI_VERSION" --no-default-features --features postgres,rustls --root "$root" ||
            die "cargo install sqlx-cli failed"
        rm -rf "$CALLBASE_CACHE/tools/sqlx-cli-build"
    fi
    export PATH=$root/bin:$PATH
    SQLX_BIN=$root/bin/sqlx
}

# cargo_nextest_ensure: the test runner (preinstalled on our machines; built from crates.io otherwise).
cargo_nextest_ensure() {
    rust_ensure
    command -v cargo-nextest >/dev/null 2>&1 && return 0
    log "installing cargo-nextest from crates.io"
    cargo install cargo-nextest --locked
}
