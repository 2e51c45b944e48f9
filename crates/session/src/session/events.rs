//! [`SessionEvent`] and [`SessionEvents`]: what subscribers of a session receive.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use futures_util::Stream;
use tokio::sync::mpsc;

use crate::{
    ConnectionState,
    core::{
        agent::Agent,
        messages::ReceivedMessage,
        tracks::{TrackChange, TrackReference},
    },
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
///
/// The track list ([`Session::tracks`](crate::Session::tracks) with no filter: every track of
/// the room, remote and local, in publication order) is kept the same way with its four
/// operations: [`TrackInserted`](Self::TrackInserted), [`TrackReplaced`](Self::TrackReplaced),
/// [`TrackRemoved`](Self::TrackRemoved) (later tracks move down by one) and
/// [`TracksReset`](Self::TracksReset); [`SessionEvent::apply_to_tracks`] applies them.
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
    /// Insert `track` at `index` (a track was published, or its participant joined).
    TrackInserted {
        /// Its position.
        index: usize,
        /// The track.
        track: TrackReference,
    },
    /// Replace the track at `index` with `track` (muted, unmuted, subscribed, unsubscribed).
    TrackReplaced {
        /// Its position.
        index: usize,
        /// The track after the change.
        track: TrackReference,
    },
    /// Remove the track at `index` (unpublished, or its participant left).
    TrackRemoved {
        /// Its position.
        index: usize,
    },
    /// Replace the whole track list (on subscribe, on connect with the room's snapshot, and
    /// with an empty list when the connection ends).
    TracksReset(Vec<TrackReference>),
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

    /// Applies a track operation to `tracks` (other events leave it alone), exactly as
    /// [`apply_to`](Self::apply_to) does for messages; an index out of range appends or is
    /// ignored, never panics.
    pub fn apply_to_tracks(&self, tracks: &mut Vec<TrackReference>) {
        match self {
            SessionEvent::TrackInserted { index, track } => {
                tracks.insert((*index).min(tracks.len()), track.clone());
            }
            SessionEvent::TrackReplaced { index, track } => {
                if let Some(slot) = tracks.get_mut(*index) {
                    *slot = track.clone();
                }
            }
            SessionEvent::TrackRemoved { index } if *index < tracks.len() => {
                tracks.remove(*index);
            }
            SessionEvent::TracksReset(all) => tracks.clone_from(all),
            _ => {}
        }
    }
}

impl From<TrackChange> for SessionEvent {
    fn from(change: TrackChange) -> Self {
        match change {
            TrackChange::Inserted { index, track } => SessionEvent::TrackInserted { index, track },
            TrackChange::Replaced { index, track } => SessionEvent::TrackReplaced { index, track },
            TrackChange::Removed { index } => SessionEvent::TrackRemoved { index },
            TrackChange::Reset(tracks) => SessionEvent::TracksReset(tracks),
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
