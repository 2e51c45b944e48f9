//! The flow of LiveKit's "Custom token generation" doc, in Rust: a custom token source, a
//! session, the agent's state and transcript printed, a message sent, the session ended.
//!
//! `cargo run -p session --example seed` runs it against a scripted agent (no server).
//! `cargo run -p session --example seed --features livekit` with `LIVEKIT_URL` and either
//! `LIVEKIT_API_KEY`/`LIVEKIT_API_SECRET` (tokens minted here, as "your backend" would) or
//! `LIVEKIT_SANDBOX_ID` runs it against a real LiveKit server; set `LIVEKIT_AGENT_NAME` to
//! dispatch your agent.

use std::{error::Error, time::Duration};

use livekit_api::access_token::{AccessToken, VideoGrants};
use session::{Session, SessionEvent, SessionOptions};
use token_source::{TokenRequestOptions, TokenSource, TokenSourceResponse};

/// "Your backend": mints a token for the requested room and participant.
fn mint(
    options: &TokenRequestOptions,
    key: &str,
    secret: &str,
) -> Result<String, Box<dyn Error + Send + Sync>> {
    let room = options.room_name.clone().unwrap_or_else(|| "seed-room".to_owned());
    let identity = options.participant_identity.clone().unwrap_or_else(|| "seed-user".to_owned());
    let mut token = AccessToken::with_api_key(key, secret)
        .with_identity(&identity)
        .with_ttl(Duration::from_secs(600))
        .with_grants(VideoGrants { room_join: true, room, ..Default::default() });
    if let Some(agent) = &options.agent_name {
        token = token.with_room_config(livekit_protocol::RoomConfiguration {
            agents: vec![livekit_protocol::RoomAgentDispatch {
                agent_name: agent.clone(),
                ..Default::default()
            }],
            ..Default::default()
        });
    }
    Ok(token.to_jwt()?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let url = std::env::var("LIVEKIT_URL").ok();
    let (livekit_url, key, secret) = match &url {
        Some(url) => (
            url.clone(),
            std::env::var("LIVEKIT_API_KEY").unwrap_or_default(),
            std::env::var("LIVEKIT_API_SECRET").unwrap_or_default(),
        ),
        None => ("wss://scripted.invalid".to_owned(), "devkey".to_owned(), "secret".to_owned()),
    };

    // The seed's `TokenSource.custom`: cached, refetched when the token expires or the options
    // change.
    let token_source = match std::env::var("LIVEKIT_SANDBOX_ID") {
        Ok(sandbox_id) if url.is_some() => TokenSource::development_token_server(&sandbox_id),
        _ => TokenSource::custom(move |options: TokenRequestOptions| {
            let (url, key, secret) = (livekit_url.clone(), key.clone(), secret.clone());
            async move { Ok(TokenSourceResponse::new(url, mint(&options, &key, &secret)?)) }
        }),
    };

    let mut request = TokenRequestOptions::new().with_room_name("room name to join");
    if let Ok(agent) = std::env::var("LIVEKIT_AGENT_NAME") {
        request = request.with_agent_name(agent);
    }
    let options = match url {
        Some(_) => SessionOptions::new(),
        None => SessionOptions::new().with_transport(scripted_agent()),
    };
    let session = Session::with_options(token_source, request, options);
    let mut events = session.subscribe();
    while events.try_next().is_some() {} // the current (disconnected) state
    session.start().await?;
    println!("connected: {}", session.is_connected());

    // Print the agent's state and its transcript until it has answered once.
    let mut sent = false;
    let finished = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(event) = events.next().await {
            match event {
                SessionEvent::AgentChanged(agent) => println!("agent: {}", agent.state),
                SessionEvent::MessageReplaced { message, .. } if message.is_final => {
                    println!("{:?}: {}", message.kind, message.text);
                    if !sent {
                        sent = true;
                        session.send("What can you do?").await?;
                    } else {
                        return Ok::<_, session::SessionError>(());
                    }
                }
                SessionEvent::ErrorChanged(Some(error)) => println!("error: {error}"),
                _ => {}
            }
        }
        Ok(())
    })
    .await;
    if finished.is_err() {
        println!("no answer within a minute (agent: {})", session.agent().state);
    }
    session.end().await;
    println!("ended with {} messages", session.messages().len());
    Ok(())
}

/// An agent that greets, then answers chat (used when `LIVEKIT_URL` is not set).
fn scripted_agent() -> session::ScriptedTransport {
    use session::{Script, ScriptedAgent};
    session::ScriptedTransport::new(
        Script::new()
            .agent_joins(ScriptedAgent::new("agent").with_name("Seed Agent"))
            .agent_state("listening")
            .agent_turn("Hello! I'm listening.")
            .on_chat(|text| {
                Script::new().agent_turn(&format!("You asked: {text} I can chat with you."))
            }),
    )
}
