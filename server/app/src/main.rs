use std::path::PathBuf;

use clap::{Parser, Subcommand};

use callbase_app::{probe_cli, seed, settings::Settings, startup, telemetry};

/// callbase: multi-tenant browser phone with CRM telephony.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// TOML settings file (environment variables `CALLBASE__SECTION__KEY` override it).
    #[arg(long, env = "CALLBASE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the API, WebSockets and the web app.
    Serve,
    /// Apply database migrations (uses database.admin_url).
    Migrate,
    /// Create or refresh the demo tenant (account `demo`, login `admin`).
    SeedDemo {
        #[arg(long, env = "CALLBASE_DEMO_PASSWORD")]
        password: String,
    },
    /// One synthetic-agent call (webrtc-rs) through this node's Asterisk; prints the timings as JSON
    /// and exits non-zero unless the echo came back (docs/probe.md).
    Probe {
        /// Dial through this tenant's trunks (the Stasis path) instead of the internal echo.
        #[arg(long)]
        tenant: Option<i64>,
        /// `echo` (the platform path), or the number dialled through the tenant's trunks.
        #[arg(long, default_value = "echo")]
        number: String,
        /// The address the media socket binds (default: probe.media_addr).
        #[arg(long)]
        media_addr: Option<std::net::IpAddr>,
        #[arg(long, default_value_t = 2000)]
        talk_ms: u64,
    },
    /// The latest health-probe results of every path (platform admins).
    ProbeStatus {
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// N synthetic agents holding concurrent calls, ramping up; prints setup times, loss and CPU per
    /// call of Asterisk and the server (docs/benchmarks.md).
    Loadgen(callbase_app::loadgen::Args),
    /// Synthetic agents (telephony users of a tenant) each holding one call until told to hang up
    /// on stdin (`hangup <login>|all`); one JSON line per event (the e2e lab's takeover test).
    AgentCalls(callbase_app::agent_calls::Args),
    /// Who holds this node's leases (Stasis app, registration monitor, health probe) and how many
    /// call records are open (docs/operations.md).
    Status,
    /// The platform's Asterisk nodes: register, list, move a tenant, set a state
    /// (docs/operations.md, "Asterisk nodes").
    #[command(subcommand)]
    Node(callbase_app::node_cli::NodeCmd),
    /// Print the OpenAPI document (the one `/api/openapi.json` serves) as JSON; needs no settings.
    Openapi,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Cmd::Openapi = cli.cmd {
        println!("{}", callbase_api::openapi().to_pretty_json()?);
        return Ok(());
    }
    let settings = Settings::load(cli.config.as_deref())?;
    telemetry::init(&settings.log);
    // Every command that writes PJSIP endpoint rows writes them with this session interval.
    callbase_telephony::timers::set_session_expires(settings.asterisk.session_expires_secs)
        .map_err(anyhow::Error::msg)?;
    match cli.cmd {
        Cmd::Serve => startup::serve(&settings).await,
        Cmd::Migrate => {
            let url = settings.database.admin_url.as_ref().unwrap_or(&settings.database.url);
            callbase_db::migrate(url).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Cmd::SeedDemo { password } => {
            seed::seed_demo(&settings, &password).await?;
            println!("demo tenant ready: account '{}', login '{}'", seed::DEMO_ACCOUNT, seed::DEMO_LOGIN);
            Ok(())
        }
        Cmd::Probe { tenant, number, media_addr, talk_ms } => {
            probe_cli::probe(&settings, probe_cli::ProbeArgs { tenant, number, media_addr, talk_ms }).await
        }
        Cmd::ProbeStatus { limit } => probe_cli::status(&settings, limit).await,
        Cmd::Status => {
            print!("{}", callbase_app::status::report(&settings).await?);
            Ok(())
        }
        Cmd::Loadgen(args) => callbase_app::loadgen::run(&settings, args).await,
        Cmd::AgentCalls(args) => callbase_app::agent_calls::run(&settings, args).await,
        Cmd::Node(cmd) => callbase_app::node_cli::run(&settings, cmd).await,
        Cmd::Openapi => unreachable!("handled before the settings load"),
    }
}
