//! [`SessionEvent`] and [`SessionEvents`]: what subscribers of a session receive.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use futures_util::Stream;
use tokio::sync::mpsc;

use crate::{
    ConnectionState,
    core::{agent::Agent, messages::ReceivedMessage},
    error::SessionError,
    room::protocol::DisconnectReason,
};

/// A change of the session, delivered in order to every subscriber.
///
/// The message list is kept by applying the three message operations exactly as they come —
/// the one rule for every platform: [`MessageInserted`](Self::MessageInserted) inserts at
/// `index` (later messages move up by one), [`MessageReplaced`](Self::MessageReplaced)
/// replaces the message at `index`, [`MessagesReset`](Self::MessagesReset) replaces the whole
/// list. [`SessionEvent::apply_to`] does exactly that.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The connection state changed.
    ConnectionStateChanged(ConnectionState),
    /// The agent changed (state, identity or attributes).
    AgentChanged(Agent),
    /// The current error changed (`None`: cleared).
    ErrorChanged(Option<SessionError>),
    /// The room connection ended for `reason` (also when the app ended the session:
    /// [`DisconnectReason::ClientInitiated`]).
    Disconnected(DisconnectReason),
    /// Insert `message` at `index`.
    MessageInserted {
        /// Its position.
        index: usize,
        /// The message.
        message: ReceivedMessage,
    },
    /// Replace the message at `index` with `message` (more text, or final).
    MessageReplaced {
        /// Its position.
        index: usize,
        /// The message after the change.
        message: ReceivedMessage,
    },
    /// Replace the whole list (on subscribe, and by
    /// [`Session::restore_message_history`](crate::Session::restore_message_history)).
    MessagesReset(Vec<ReceivedMessage>),
}

impl SessionEvent {
    /// Applies a message operation to `messages` (other events leave it alone). An index out of
    /// range (a list that was not kept by these operations) appends or is ignored, never panics.
    pub fn apply_to(&self, messages: &mut Vec<ReceivedMessage>) {
        match self {
            SessionEvent::MessageInserted { index, message } => {
                messages.insert((*index).min(messages.len()), message.clone());
            }
            SessionEvent::MessageReplaced { index, message } => {
                if let Some(slot) = messages.get_mut(*index) {
                    *slot = message.clone();
                }
            }
            SessionEvent::MessagesReset(all) => messages.clone_from(all),
            _ => {}
        }
    }
}

/// The changes of a session, from [`Session::subscribe`](crate::Session::subscribe).
/// Unbounded: no change is lost. Ends when the session is dropped.
#[derive(Debug)]
pub struct SessionEvents {
    pub(crate) receiver: mpsc::UnboundedReceiver<SessionEvent>,
}

impl SessionEvents {
    /// The next change, or `None` once the session is gone.
    pub async fn next(&mut self) -> Option<SessionEvent> {
        self.receiver.recv().await
    }

    /// The next change if one is already queued.
    pub fn try_next(&mut self) -> Option<SessionEvent> {
        self.receiver.try_recv().ok()
    }
}

impl Stream for SessionEvents {
    type Item = SessionEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SessionEvent>> {
        self.receiver.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::MessageKind;

    fn message(id: &str) -> ReceivedMessage {
        ReceivedMessage::new(id, SystemTime::UNIX_EPOCH, MessageKind::ReceivedChat, "a", id)
    }

    #[test]
    fn message_operations_insert_replace_and_reset() {
        let mut list = Vec::new();
        SessionEvent::MessageInserted { index: 0, message: message("b") }.apply_to(&mut list);
        SessionEvent::MessageInserted { index: 0, message: message("a") }.apply_to(&mut list);
        SessionEvent::MessageInserted { index: 9, message: message("z") }.apply_to(&mut list);
        let ids: Vec<_> = list.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "z"]);
        SessionEvent::MessageReplaced { index: 1, message: message("B") }.apply_to(&mut list);
        SessionEvent::MessageReplaced { index: 7, message: message("x") }.apply_to(&mut list);
        assert_eq!(list[1].id, "B");
        assert_eq!(list.len(), 3);
        SessionEvent::MessagesReset(vec![message("only")]).apply_to(&mut list);
        assert_eq!(list.len(), 1);
    }
}
