//! Printing a session for a person: state changes on their own lines, messages as they stream.
//!
//! On a terminal a streaming message is redrawn in place as words arrive; elsewhere (a pipe,
//! CI) each message is printed once, when it is final.

use std::io::{self, Write};

use session::{AgentState, MessageKind, ReceivedMessage, SessionEvent};

/// Renders session events to `out`.
pub(crate) struct Renderer<W: Write> {
    out: W,
    terminal: bool,
    /// The message being redrawn in place (terminal only).
    live: Option<usize>,
    agent_state: Option<AgentState>,
}

impl<W: Write> Renderer<W> {
    /// A renderer; `terminal` enables in-place redrawing.
    pub(crate) fn new(out: W, terminal: bool) -> Self {
        Self { out, terminal, live: None, agent_state: None }
    }

    /// Prints a line of its own (ending a live message first).
    pub(crate) fn line(&mut self, text: &str) -> io::Result<()> {
        self.end_live()?;
        writeln!(self.out, "{text}")?;
        self.out.flush()
    }

    /// Prints what `event` changed.
    pub(crate) fn event(&mut self, event: &SessionEvent) -> io::Result<()> {
        match event {
            SessionEvent::ConnectionStateChanged(state) => {
                self.line(&format!("● session: {state}"))
            }
            SessionEvent::AgentChanged(agent) => {
                if self.agent_state == Some(agent.state) {
                    return Ok(());
                }
                self.agent_state = Some(agent.state);
                let who = agent.name.as_deref().or(agent.identity.as_deref());
                match who {
                    Some(who) => self.line(&format!("◆ agent: {} ({who})", agent.state)),
                    None => self.line(&format!("◆ agent: {}", agent.state)),
                }
            }
            SessionEvent::ErrorChanged(Some(error)) => self.line(&format!("✖ error: {error}")),
            SessionEvent::ErrorChanged(None) => Ok(()),
            SessionEvent::MessageInserted { index, message }
            | SessionEvent::MessageReplaced { index, message } => self.message(*index, message),
            SessionEvent::MessagesReset(messages) => {
                for message in messages.iter().filter(|m| m.is_final) {
                    self.line(&format_message(message))?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn message(&mut self, index: usize, message: &ReceivedMessage) -> io::Result<()> {
        if !self.terminal {
            return if message.is_final && !message.text.is_empty() {
                self.line(&format_message(message))
            } else {
                Ok(())
            };
        }
        if message.text.is_empty() {
            return Ok(());
        }
        if self.live != Some(index) {
            self.end_live()?;
            self.live = Some(index);
        }
        // Redraw the line in place: carriage return, clear the line, the text so far.
        write!(self.out, "\r\x1b[2K{}", format_message(message))?;
        if message.is_final {
            writeln!(self.out)?;
            self.live = None;
        }
        self.out.flush()
    }

    fn end_live(&mut self) -> io::Result<()> {
        if self.live.take().is_some() {
            writeln!(self.out)?;
        }
        Ok(())
    }
}

/// `agent ▸ text`, `you ▸ text`, `you (voice) ▸ text`, `<sender> ▸ text`.
pub(crate) fn format_message(message: &ReceivedMessage) -> String {
    let who = match message.kind {
        MessageKind::AgentTranscript => "agent",
        MessageKind::UserTranscript => "you (voice)",
        MessageKind::SentChat => "you",
        _ => message.sender_identity.as_str(),
    };
    format!("  {who} ▸ {}", message.text)
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use session::{Agent, ConnectionState};

    use super::*;

    fn message(text: &str, is_final: bool) -> ReceivedMessage {
        let mut message =
            ReceivedMessage::new("m", UNIX_EPOCH, MessageKind::AgentTranscript, "agent", text);
        message.is_final = is_final;
        message
    }

    fn render(terminal: bool, events: &[SessionEvent]) -> String {
        let mut out = Vec::new();
        let mut renderer = Renderer::new(&mut out, terminal);
        for event in events {
            renderer.event(event).unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    fn stream() -> Vec<SessionEvent> {
        vec![
            SessionEvent::ConnectionStateChanged(ConnectionState::Connected),
            SessionEvent::AgentChanged(Agent::without_participant(AgentState::Listening)),
            SessionEvent::AgentChanged(Agent::without_participant(AgentState::Listening)),
            SessionEvent::MessageInserted { index: 0, message: message("", false) },
            SessionEvent::MessageReplaced { index: 0, message: message("Hi", false) },
            SessionEvent::MessageReplaced { index: 0, message: message("Hi there", false) },
            SessionEvent::MessageReplaced { index: 0, message: message("Hi there", true) },
        ]
    }

    #[test]
    fn a_pipe_gets_each_final_message_once() {
        assert_eq!(
            render(false, &stream()),
            "● session: connected\n◆ agent: listening\n  agent ▸ Hi there\n"
        );
    }

    #[test]
    fn a_terminal_sees_the_message_stream_in_place() {
        let out = render(true, &stream());
        assert!(out.contains("\r\x1b[2K  agent ▸ Hi\r\x1b[2K  agent ▸ Hi there"), "{out:?}");
        assert!(out.ends_with("Hi there\n"), "{out:?}");
    }

    #[test]
    fn a_line_in_the_middle_of_a_stream_ends_it_first() {
        let mut events = stream();
        events.truncate(5);
        events.push(SessionEvent::AgentChanged(Agent::without_participant(AgentState::Thinking)));
        let out = render(true, &events);
        assert!(out.ends_with("agent ▸ Hi\n◆ agent: thinking\n"), "{out:?}");
    }
}
