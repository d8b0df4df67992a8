//! `callbase-s3`: an S3-compatible object store on the local filesystem, for development and tests.
//!
//! It embeds s3s-fs, which (unlike moto or s3rver) checks request signatures, so a credentials bug
//! in our aws-sdk-s3 code fails here as it would against AWS. Buckets are directories under
//! `--root`; `--bucket` creates them at start.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

#[derive(Parser)]
#[command(version, about = "S3-compatible dev/test object store (s3s-fs)")]
struct Opt {
    /// Directory holding the buckets.
    #[arg(long)]
    root: PathBuf,
    /// Address to listen on (keep it on loopback).
    #[arg(long, default_value = "127.0.0.1:9000")]
    addr: SocketAddr,
    #[arg(long, env = "CALLBASE_S3_ACCESS_KEY")]
    access_key: String,
    #[arg(long, env = "CALLBASE_S3_SECRET_KEY", hide_env_values = true)]
    secret_key: String,
    /// Buckets to create if missing.
    #[arg(long)]
    bucket: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new("info")).init();
    let opt = Opt::parse();
    std::fs::create_dir_all(&opt.root).with_context(|| format!("cannot create {}", opt.root.display()))?;
    for b in &opt.bucket {
        std::fs::create_dir_all(opt.root.join(b))?;
    }
    // s3s_fs::Error does not implement std::error::Error: convert by hand.
    let fs = s3s_fs::FileSystem::new(&opt.root).map_err(|e| anyhow::anyhow!("s3s-fs: {e:?}"))?;
    let service = {
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(opt.access_key, opt.secret_key));
        b.build()
    };
    let listener = tokio::net::TcpListener::bind(opt.addr)
        .await
        .with_context(|| format!("cannot listen on {}", opt.addr))?;
    tracing::info!(addr = %listener.local_addr()?, root = %opt.root.display(), "callbase-s3 listening");
    let http = ConnBuilder::new(TokioExecutor::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut stop = std::pin::pin!(shutdown());
    loop {
        let socket = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => { tracing::warn!(error = %e, "accept failed"); continue; }
            },
            _ = stop.as_mut() => break,
        };
        // Without TCP_NODELAY a small response waits for the client's delayed ACK (~40 ms a request).
        let _ = socket.set_nodelay(true);
        let conn = graceful.watch(http.serve_connection(TokioIo::new(socket), service.clone()).into_owned());
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {},
    }
    Ok(())
}

async fn shutdown() {
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = term.recv() => {} }
}
