//! Printing a session for a person: state changes on their own lines, messages as they stream.
//!
//! On a terminal a streaming message is redrawn in place as words arrive, and so is a message
//! updated again after it was final (interim user transcripts); elsewhere (a pipe, CI) each
//! message is printed when it is final.

use std::io::{self, Write};

use session::{AgentState, MessageKind, ReceivedMessage, SessionEvent};

/// Renders session events to `out`.
pub(crate) struct Renderer<W: Write> {
    out: W,
    terminal: bool,
    /// The message being redrawn in place (terminal only).
    live: Option<usize>,
    /// The message on the last complete line, when nothing was printed after it (terminal
    /// only): an update to it redraws that line instead of adding one.
    last_line: Option<usize>,
    agent_state: Option<AgentState>,
}

impl<W: Write> Renderer<W> {
    /// A renderer; `terminal` enables in-place redrawing.
    pub(crate) fn new(out: W, terminal: bool) -> Self {
        Self { out, terminal, live: None, last_line: None, agent_state: None }
    }

    /// Prints a line of its own (ending a live message first).
    pub(crate) fn line(&mut self, text: &str) -> io::Result<()> {
        self.end_live()?;
        self.last_line = None;
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
            if self.live.is_none() && self.last_line == Some(index) {
                // The message was complete and is updated again (an interim user transcript
                // arrives as streams that each close and reopen): back up to its line. (A line
                // wider than the terminal wraps, and then only its last row is redrawn.)
                write!(self.out, "\x1b[1A")?;
            } else {
                self.end_live()?;
            }
            self.live = Some(index);
            self.last_line = None;
        }
        // Redraw the line in place: carriage return, clear the line, the text so far.
        write!(self.out, "\r\x1b[2K{}", format_message(message))?;
        if message.is_final {
            writeln!(self.out)?;
            self.live = None;
            self.last_line = Some(index);
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

    /// What a terminal shows for `output`: `\r`, `\n`, clear line (`ESC[2K`) and cursor up
    /// (`ESC[1A`) interpreted.
    fn screen(output: &str) -> Vec<String> {
        let mut lines = vec![String::new()];
        let mut row = 0;
        let mut rest = output;
        while let Some(ch) = rest.chars().next() {
            if let Some(after) = rest.strip_prefix("\x1b[2K") {
                lines[row].clear();
                rest = after;
                continue;
            }
            if let Some(after) = rest.strip_prefix("\x1b[1A") {
                row = row.saturating_sub(1);
                rest = after;
                continue;
            }
            match ch {
                // Every write of this renderer starts a line's text after a clear.
                '\r' => {}
                '\n' => {
                    row += 1;
                    if row == lines.len() {
                        lines.push(String::new());
                    }
                }
                other => lines[row].push(other),
            }
            rest = &rest[ch.len_utf8()..];
        }
        lines.retain(|line| !line.is_empty());
        lines
    }

    fn user(text: &str, is_final: bool) -> ReceivedMessage {
        let mut message =
            ReceivedMessage::new("u", UNIX_EPOCH, MessageKind::UserTranscript, "me", text);
        message.is_final = is_final;
        message
    }

    /// Interim user transcripts arrive as streams that each close (the message turns final)
    /// and reopen with the segment so far: a terminal redraws the one line in place.
    #[test]
    fn a_terminal_redraws_interim_user_transcripts_in_place() {
        let mut events =
            vec![SessionEvent::AgentChanged(Agent::without_participant(AgentState::Listening))];
        let mut text = String::new();
        for (i, word) in ["What", "can", "you", "do?"].iter().enumerate() {
            if i > 0 {
                text.push(' ');
            }
            text.push_str(word);
            let opened = user(&text, false);
            events.push(if i == 0 {
                SessionEvent::MessageInserted { index: 0, message: opened }
            } else {
                SessionEvent::MessageReplaced { index: 0, message: opened }
            });
            events.push(SessionEvent::MessageReplaced { index: 0, message: user(&text, true) });
        }
        events.push(SessionEvent::AgentChanged(Agent::without_participant(AgentState::Thinking)));
        assert_eq!(
            screen(&render(true, &events)),
            ["◆ agent: listening", "  you (voice) ▸ What can you do?", "◆ agent: thinking"]
        );
        // A pipe has no cursor to move: each final version is a line of its own.
        assert_eq!(render(false, &events).matches("you (voice)").count(), 4);
    }

    #[test]
    fn the_screen_model_shows_a_streamed_agent_message_once() {
        assert_eq!(
            screen(&render(true, &stream())),
            ["● session: connected", "◆ agent: listening", "  agent ▸ Hi there"]
        );
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
