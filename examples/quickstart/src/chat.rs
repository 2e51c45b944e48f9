//! The terminal agent-chat client: agent state and the streaming transcript on screen, typed
//! lines sent as chat, Ctrl-C (or end of input) ends the session cleanly.

use std::{error::Error, future::Future, io::Write};

use session::Session;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::render::Renderer;

/// Runs `session` until `input` ends, `interrupt` fires, or the session disconnects.
pub(crate) async fn run<W: Write>(
    session: &Session,
    input: impl AsyncBufRead + Unpin,
    interrupt: impl Future<Output = ()>,
    out: &mut Renderer<W>,
) -> Result<(), Box<dyn Error>> {
    let mut events = session.subscribe();
    // The subscription starts with the current (disconnected) state: nothing to show yet.
    while events.try_next().is_some() {}
    let mut lines = input.lines();
    tokio::pin!(interrupt);
    session.start().await?;
    out.line("  type a message and press Enter to chat; Ctrl-C ends the session")?;
    let mut reading = true;
    loop {
        tokio::select! {
            event = events.next() => {
                let Some(event) = event else { break };
                out.event(&event)?;
                if matches!(event, session::SessionEvent::ConnectionStateChanged(session::ConnectionState::Disconnected)) {
                    return Ok(());
                }
            }
            line = lines.next_line(), if reading => match line? {
                Some(text) if text.trim().is_empty() => {}
                Some(text) => {
                    if let Err(error) = session.send(&text).await {
                        out.line(&format!("✖ not sent: {error}"))?;
                    }
                }
                None => reading = false,
            },
            () = &mut interrupt => break,
        }
    }
    out.line("  ending the session…")?;
    session.end().await;
    while let Some(event) = events.try_next() {
        out.event(&event)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use session::{ConnectionState, Script, ScriptedAgent, ScriptedTransport, SessionOptions};
    use token_source::{TokenRequestOptions, TokenSource};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn typed_lines_are_sent_and_an_interrupt_ends_the_session() {
        let transport = ScriptedTransport::new(
            Script::new()
                .agent_joins(ScriptedAgent::new("agent"))
                .agent_state("listening")
                .on_chat(|text| Script::new().agent_says(&format!("echo {text}"))),
        );
        let controller = transport.controller();
        let session = Session::with_options(
            TokenSource::literal("wss://x", "t"),
            TokenRequestOptions::new(),
            SessionOptions::new().with_transport(transport),
        );
        let input: &[u8] = b"hello\n\nsecond\n";
        let mut out = Vec::new();
        let mut renderer = Renderer::new(&mut out, false);
        run(&session, input, tokio::time::sleep(Duration::from_secs(5)), &mut renderer)
            .await
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        let sent: Vec<String> = controller.sent().into_iter().map(|(_, text)| text).collect();
        assert_eq!(sent, ["hello", "second"], "blank lines are not sent: {text}");
        assert!(text.contains("  agent ▸ echo hello"), "{text}");
        assert!(text.contains("◆ agent: listening"), "{text}");
        assert!(text.ends_with("● session: disconnected\n"), "{text}");
        assert_eq!(session.connection_state(), ConnectionState::Disconnected);
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_disconnect_ends_the_client() {
        let transport = ScriptedTransport::new(
            Script::new().wait(Duration::from_secs(1)).server_disconnects("PARTICIPANT_REMOVED"),
        );
        let session = Session::with_options(
            TokenSource::literal("wss://x", "t"),
            TokenRequestOptions::new(),
            SessionOptions::new().with_transport(transport),
        );
        let mut out = Vec::new();
        let mut renderer = Renderer::new(&mut out, false);
        run(&session, &b""[..], std::future::pending(), &mut renderer).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(
                "✖ error: connection failed: disconnected: you were removed from the room"
            ),
            "{text}"
        );
    }
}
