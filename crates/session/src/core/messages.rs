//! The session's messages: transcriptions and chat, merged from text streams.
//!
//! - Transcriptions arrive as text streams on `lk.transcription`. A message is keyed by the
//!   sender and the stream's `lk.segment_id` (the stream ID when absent). Chunks of one stream
//!   append; a new stream for the same segment replaces the text (speech-to-text resends the
//!   whole segment). A message is final when its stream's header says
//!   `lk.transcription_final: true`, and when its stream closes (whatever the trailer says:
//!   agents leave the attribute `false` on their own speech, so the close is what finalizes it).
//! - Chat arrives as text streams on `lk.chat`, one message per stream. Messages the app sends
//!   are added locally (LiveKit does not echo them).
//! - Messages keep the position of their first arrival (local time: sender clocks drift); an
//!   update keeps its position. Every chunk costs O(1) map lookups plus appending its text.

use std::{collections::HashMap, time::SystemTime};

pub use crate::room::protocol::{
    CHAT_TOPIC, SEGMENT_ID_ATTRIBUTE, TRANSCRIPTION_FINAL_ATTRIBUTE, TRANSCRIPTION_TOPIC,
};
use crate::translate::TextStreamInfo;

/// Who produced a message and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageKind {
    /// The agent's speech, transcribed (any remote sender on `lk.transcription`).
    AgentTranscript,
    /// The user's speech, transcribed by the agent (sent with the local identity).
    UserTranscript,
    /// A chat message this session sent.
    SentChat,
    /// A chat message from another participant.
    ReceivedChat,
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedMessage {
    /// The segment ID (transcriptions) or stream ID (chat). Unique per sender.
    pub id: String,
    /// When this device first saw the message.
    pub timestamp: SystemTime,
    /// Who produced it and how.
    pub kind: MessageKind,
    /// The sender's identity.
    pub sender_identity: String,
    /// The text so far.
    pub text: String,
    /// Whether the text is complete.
    pub is_final: bool,
}

impl ReceivedMessage {
    /// A message; for restoring history or building previews.
    pub fn new(
        id: impl Into<String>,
        timestamp: SystemTime,
        kind: MessageKind,
        sender_identity: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            timestamp,
            kind,
            sender_identity: sender_identity.into(),
            text: text.into(),
            is_final: true,
        }
    }
}

/// A change to the message list: the position and the message after the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MessageChange {
    Added(usize),
    Updated(usize),
}

#[derive(Debug)]
struct OpenStream {
    message: usize,
    /// The first chunk replaces the message's text (a new stream for an existing segment).
    replace_on_first_chunk: bool,
    received_chunk: bool,
}

/// The ordered messages and the open streams feeding them.
#[derive(Debug, Default)]
pub(crate) struct MessageStore {
    messages: Vec<ReceivedMessage>,
    /// (sender, id) → position.
    positions: HashMap<(String, String), usize>,
    /// Open stream ID → its message.
    streams: HashMap<String, OpenStream>,
}

impl MessageStore {
    pub(crate) fn messages(&self) -> &[ReceivedMessage] {
        &self.messages
    }

    pub(crate) fn get(&self, position: usize) -> Option<&ReceivedMessage> {
        self.messages.get(position)
    }

    /// A stream opened. Returns the change, if it created a message.
    pub(crate) fn stream_opened(
        &mut self,
        stream: &TextStreamInfo,
        local_identity: &str,
        now: SystemTime,
    ) -> Option<MessageChange> {
        let (kind, id) = match stream.topic.as_str() {
            TRANSCRIPTION_TOPIC => {
                let kind = if stream.sender_identity == local_identity {
                    MessageKind::UserTranscript
                } else {
                    MessageKind::AgentTranscript
                };
                let segment = stream.attributes.get(SEGMENT_ID_ATTRIBUTE).filter(|s| !s.is_empty());
                (kind, segment.unwrap_or(&stream.id).clone())
            }
            CHAT_TOPIC => (MessageKind::ReceivedChat, stream.id.clone()),
            _ => return None,
        };
        let is_final = is_final_attribute(&stream.attributes);
        let key = (stream.sender_identity.clone(), id);
        let (position, change) = match self.positions.get(&key) {
            Some(&position) => {
                let message = &mut self.messages[position];
                let changed = message.is_final != is_final;
                message.is_final = is_final;
                (position, changed.then_some(MessageChange::Updated(position)))
            }
            None => {
                let position = self.messages.len();
                self.messages.push(ReceivedMessage {
                    id: key.1.clone(),
                    timestamp: now,
                    kind,
                    sender_identity: key.0.clone(),
                    text: String::new(),
                    is_final,
                });
                self.positions.insert(key, position);
                (position, Some(MessageChange::Added(position)))
            }
        };
        let replace = !matches!(change, Some(MessageChange::Added(_)));
        self.streams.insert(
            stream.id.clone(),
            OpenStream {
                message: position,
                replace_on_first_chunk: replace,
                received_chunk: false,
            },
        );
        change
    }

    /// A chunk arrived: O(1) lookups plus appending (or replacing with) `text`.
    pub(crate) fn chunk(&mut self, stream_id: &str, text: &str) -> Option<MessageChange> {
        let stream = self.streams.get_mut(stream_id)?;
        let message = &mut self.messages[stream.message];
        if stream.replace_on_first_chunk && !stream.received_chunk {
            message.text.clear();
        } else if text.is_empty() {
            return None;
        }
        stream.received_chunk = true;
        message.text.push_str(text);
        Some(MessageChange::Updated(stream.message))
    }

    /// A stream ended: its message is final.
    pub(crate) fn stream_closed(&mut self, stream_id: &str) -> Option<MessageChange> {
        let stream = self.streams.remove(stream_id)?;
        let message = &mut self.messages[stream.message];
        if message.is_final {
            return None;
        }
        message.is_final = true;
        Some(MessageChange::Updated(stream.message))
    }

    /// The connection ended: no open stream will continue. Their messages become final.
    pub(crate) fn end_streams(&mut self) -> Vec<MessageChange> {
        let mut changes: Vec<MessageChange> = Vec::new();
        for (_, stream) in self.streams.drain() {
            let message = &mut self.messages[stream.message];
            if !message.is_final {
                message.is_final = true;
                changes.push(MessageChange::Updated(stream.message));
            }
        }
        changes.sort_by_key(|change| match change {
            MessageChange::Added(position) | MessageChange::Updated(position) => *position,
        });
        changes
    }

    /// Appends a message sent by this session.
    pub(crate) fn push_sent(&mut self, message: ReceivedMessage) -> MessageChange {
        let key = (message.sender_identity.clone(), message.id.clone());
        if let Some(&position) = self.positions.get(&key) {
            self.messages[position] = message;
            return MessageChange::Updated(position);
        }
        let position = self.messages.len();
        self.positions.insert(key, position);
        self.messages.push(message);
        MessageChange::Added(position)
    }

    /// Replaces every message, ordered by timestamp; later duplicates of a (sender, id) pair
    /// are dropped. Open streams keep feeding their messages if those are still present.
    pub(crate) fn restore(&mut self, mut history: Vec<ReceivedMessage>) {
        history.sort_by_key(|message| message.timestamp);
        let mut positions = HashMap::with_capacity(history.len());
        let mut messages = Vec::with_capacity(history.len());
        for message in history {
            let key = (message.sender_identity.clone(), message.id.clone());
            if let std::collections::hash_map::Entry::Vacant(slot) = positions.entry(key) {
                slot.insert(messages.len());
                messages.push(message);
            }
        }
        let old = std::mem::replace(&mut self.messages, messages);
        self.positions = positions;
        let positions = &self.positions;
        self.streams.retain(|_, stream| {
            let message = &old[stream.message];
            match positions.get(&(message.sender_identity.clone(), message.id.clone())) {
                Some(&position) => {
                    stream.message = position;
                    true
                }
                None => false,
            }
        });
    }
}

fn is_final_attribute(attributes: &std::collections::BTreeMap<String, String>) -> bool {
    attributes.get(TRANSCRIPTION_FINAL_ATTRIBUTE).is_some_and(|value| value == "true")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    const LOCAL: &str = "me";

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn transcription(id: &str, sender: &str, segment: Option<&str>) -> TextStreamInfo {
        let info = TextStreamInfo::new(id, TRANSCRIPTION_TOPIC, sender);
        match segment {
            Some(segment) => info.with_attribute(SEGMENT_ID_ATTRIBUTE, segment),
            None => info,
        }
    }

    fn texts(store: &MessageStore) -> Vec<(&str, &str, bool)> {
        store.messages().iter().map(|m| (m.id.as_str(), m.text.as_str(), m.is_final)).collect()
    }

    #[test]
    fn chunks_of_one_stream_append_and_close_finalizes() {
        let mut store = MessageStore::default();
        assert_eq!(
            store.stream_opened(&transcription("s1", "agent", Some("seg")), LOCAL, at(1)),
            Some(MessageChange::Added(0))
        );
        for chunk in ["hello", " world", "!"] {
            assert_eq!(store.chunk("s1", chunk), Some(MessageChange::Updated(0)));
        }
        assert_eq!(texts(&store), [("seg", "hello world!", false)]);
        assert_eq!(store.stream_closed("s1"), Some(MessageChange::Updated(0)));
        assert_eq!(texts(&store), [("seg", "hello world!", true)]);
        assert_eq!(store.messages()[0].kind, MessageKind::AgentTranscript);
        assert_eq!(store.stream_closed("s1"), None, "a stream closes once");
    }

    #[test]
    fn a_new_stream_for_the_same_segment_replaces_and_keeps_position_and_timestamp() {
        let mut store = MessageStore::default();
        store.stream_opened(&transcription("s1", LOCAL, Some("seg")), LOCAL, at(1));
        store.chunk("s1", "Hel");
        store.stream_closed("s1");
        store.stream_opened(&transcription("other", "agent", None), LOCAL, at(2));
        store.stream_opened(&transcription("s2", LOCAL, Some("seg")), LOCAL, at(3));
        assert!(!store.messages()[0].is_final, "reopened by the new stream");
        store.chunk("s2", "Hello there");
        assert_eq!(texts(&store), [("seg", "Hello there", false), ("other", "", false)]);
        assert_eq!(store.messages()[0].timestamp, at(1));
        assert_eq!(store.messages()[0].kind, MessageKind::UserTranscript);
    }

    #[test]
    fn segment_ids_are_per_sender_and_fall_back_to_the_stream_id() {
        let mut store = MessageStore::default();
        store.stream_opened(&transcription("s1", "agent", Some("seg")), LOCAL, at(1));
        store.stream_opened(&transcription("s2", LOCAL, Some("seg")), LOCAL, at(2));
        store.stream_opened(&transcription("s3", "agent", None), LOCAL, at(3));
        let ids: Vec<_> =
            store.messages().iter().map(|m| (m.id.as_str(), m.sender_identity.as_str())).collect();
        assert_eq!(ids, [("seg", "agent"), ("seg", LOCAL), ("s3", "agent")]);
    }

    #[test]
    fn final_attribute_and_other_topics() {
        let mut store = MessageStore::default();
        let info = transcription("s1", "agent", Some("seg"))
            .with_attribute(TRANSCRIPTION_FINAL_ATTRIBUTE, "true");
        store.stream_opened(&info, LOCAL, at(1));
        store.chunk("s1", "done");
        assert_eq!(store.stream_closed("s1"), None, "already final: no duplicate update on close");
        assert_eq!(
            store.stream_opened(&TextStreamInfo::new("x", "lk.other", "agent"), LOCAL, at(2)),
            None
        );
        assert_eq!(store.chunk("x", "ignored"), None);
        assert_eq!(store.chunk("unknown", "ignored"), None);
        assert_eq!(store.messages().len(), 1);
    }

    #[test]
    fn ending_streams_finalizes_their_messages_and_forgets_them() {
        let mut store = MessageStore::default();
        store.stream_opened(&transcription("s1", "agent", Some("a")), LOCAL, at(1));
        store.stream_opened(&transcription("s2", "agent", Some("b")), LOCAL, at(2));
        store.chunk("s2", "cut off");
        assert_eq!(store.end_streams(), [MessageChange::Updated(0), MessageChange::Updated(1)]);
        assert!(store.messages().iter().all(|m| m.is_final));
        assert_eq!(store.chunk("s2", " more"), None, "a stream of an ended connection is gone");
        assert_eq!(store.end_streams(), []);
    }

    #[test]
    fn chat_streams_and_sent_messages() {
        let mut store = MessageStore::default();
        store.stream_opened(&TextStreamInfo::new("c1", CHAT_TOPIC, "agent"), LOCAL, at(1));
        store.chunk("c1", "hi");
        store.stream_closed("c1");
        let sent = ReceivedMessage::new("c2", at(2), MessageKind::SentChat, LOCAL, "hello");
        assert_eq!(store.push_sent(sent), MessageChange::Added(1));
        assert_eq!(store.messages()[0].kind, MessageKind::ReceivedChat);
        assert_eq!(texts(&store), [("c1", "hi", true), ("c2", "hello", true)]);
    }

    #[test]
    fn restore_sorts_dedupes_and_keeps_open_streams_attached() {
        let mut store = MessageStore::default();
        store.stream_opened(&transcription("s1", "agent", Some("live")), LOCAL, at(10));
        store.restore(vec![
            ReceivedMessage::new("b", at(5), MessageKind::AgentTranscript, "agent", "second"),
            ReceivedMessage::new("a", at(1), MessageKind::UserTranscript, LOCAL, "first"),
            ReceivedMessage::new("a", at(2), MessageKind::UserTranscript, LOCAL, "duplicate"),
            ReceivedMessage::new("live", at(10), MessageKind::AgentTranscript, "agent", ""),
        ]);
        assert_eq!(
            texts(&store),
            [("a", "first", true), ("b", "second", true), ("live", "", true)]
        );
        assert_eq!(store.chunk("s1", "still streaming"), Some(MessageChange::Updated(2)));
    }
}
