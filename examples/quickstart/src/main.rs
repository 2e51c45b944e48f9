//! The quickstart: `cargo run -p quickstart`.
//!
//! With no configuration it starts a token server on 127.0.0.1, shows what the token cache does
//! step by step, then runs a session against a scripted agent, live in the terminal. Built with
//! `--features livekit` and given `--url`/`LIVEKIT_URL` (plus the API key and secret, or a
//! sandbox ID; see `--help`), it is a terminal agent-chat client for a real LiveKit server.

mod chat;
mod config;
mod demo;
mod render;

use std::{error::Error, io::IsTerminal, process::ExitCode};

use session::Session;
use token_server::TokenServerConfig;
use token_source::{TokenRequestOptions, TokenSource};
use tokio::net::TcpListener;

use crate::{
    config::{Credentials, LiveKitConfig, Mode},
    render::Renderer,
};

#[tokio::main]
async fn main() -> ExitCode {
    // `--help` and invalid arguments exit here, with clap's message.
    let options = <config::Options as clap::Parser>::parse();
    let mode = match options.mode(cfg!(feature = "livekit")) {
        Ok(mode) => mode,
        Err(error) => {
            eprintln!("quickstart: {error}");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let terminal = stdout.is_terminal();
    let mut out = Renderer::new(stdout.lock(), terminal);
    let result = match mode {
        Mode::Demo => demo_mode(&mut out).await,
        Mode::LiveKit(config) => livekit_mode(config, &mut out).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("quickstart: {error}");
            ExitCode::FAILURE
        }
    }
}

/// A token server on an ephemeral 127.0.0.1 port, stopped when dropped.
struct LocalTokenServer {
    url: String,
    task: tokio::task::JoinHandle<Result<(), token_server::ServeError>>,
}

impl LocalTokenServer {
    async fn start(config: TokenServerConfig) -> Result<Self, Box<dyn Error>> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/token", listener.local_addr()?);
        let task = tokio::spawn(token_server::serve(listener, config, std::future::pending()));
        Ok(Self { url, task })
    }
}

impl Drop for LocalTokenServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn demo_mode<W: std::io::Write>(out: &mut Renderer<W>) -> Result<(), Box<dyn Error>> {
    let server = LocalTokenServer::start(TokenServerConfig::default()).await?;
    let endpoint = &server.url;
    out.line(&format!("token server listening at {endpoint} (keys of livekit-server --dev)"))?;
    out.line("")?;
    demo::token_caching(endpoint, out).await?;
    demo::scripted_session(endpoint, out).await?;
    drop(server);
    out.line("")?;
    out.line("done. Next: `cargo run -p token-server` for a standalone endpoint, or build with")?;
    out.line("`--features livekit` and set LIVEKIT_URL to talk to a real agent (see README.md).")?;
    Ok(())
}

async fn livekit_mode<W: std::io::Write>(
    config: LiveKitConfig,
    out: &mut Renderer<W>,
) -> Result<(), Box<dyn Error>> {
    let mut _server = None;
    let source = match &config.credentials {
        Credentials::ApiKey { key, secret } => {
            let server_config = TokenServerConfig::default()
                .with_api_key(key.clone())
                .with_api_secret(secret.clone())
                .with_livekit_url(config.url.clone());
            let server = LocalTokenServer::start(server_config).await?;
            let source = TokenSource::endpoint(&server.url);
            _server = Some(server);
            source
        }
        Credentials::Sandbox { id } => TokenSource::development_token_server(id),
    };
    let mut request = TokenRequestOptions::new().with_participant_name("quickstart");
    if let Some(room) = &config.room_name {
        request = request.with_room_name(room.clone());
    }
    if let Some(agent) = &config.agent_name {
        request = request.with_agent_name(agent.clone());
    }
    out.line(&format!("connecting to {}…", config.url))?;
    let session = Session::new(source, request);
    let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    chat::run(&session, stdin, interrupt, out).await
}
