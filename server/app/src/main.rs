use std::path::PathBuf;

use clap::{Parser, Subcommand};

use callbase_app::{seed, settings::Settings, startup, telemetry};

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    telemetry::init(&settings.log);
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
    }
}
