//! `token-server`: a LiveKit token endpoint configured from flags or the environment (see the
//! README, or `token-server --help`).

use std::process::ExitCode;

use token_server::{Cli, serve};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> ExitCode {
    // `--help`, `--version` and unknown flags exit here, with clap's message.
    let cli = Cli::parse_args();
    let filter = match cli.log_filter() {
        Ok(filter) => filter,
        Err(error) => {
            eprintln!("token-server: {error}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_target(false)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .init();
    match run(&cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: &Cli) -> Result<(), Box<dyn std::error::Error>> {
    let config = cli.config()?;
    let addr = cli.listen_addr()?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|error| format!("could not listen on {addr}: {error}"))?;
    let local = listener.local_addr()?;
    tracing::info!(
        "token endpoint on http://{local}/token (LiveKit URL {}, tokens valid {} s)",
        config.livekit_url(),
        config.token_ttl().as_secs()
    );
    if config.uses_dev_keys() {
        tracing::warn!("signing with the development keys of `livekit-server --dev`");
    }
    if !config.requires_auth() {
        tracing::warn!(
            "no authentication: anyone who can reach this port gets tokens (set TOKEN_SERVER_BEARER)"
        );
    }
    serve(listener, config, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C, or SIGTERM on Unix (containers, systemd).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received, finishing requests in flight"),
        () = terminate => tracing::info!("SIGTERM received, finishing requests in flight"),
    }
}
