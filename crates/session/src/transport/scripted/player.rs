//! Plays a script's steps on a scripted room as room facts, in the orders a LiveKit room
//! reports them (livekit 0.10, `src/room/mod.rs`).

use std::{collections::BTreeMap, sync::Weak};

use super::{
    Room, lock,
    script::{Step, source_name, track_fact},
};
use crate::room::{
    facts::{ParticipantFact, RoomFact},
    protocol::{
        AGENT_STATE_ATTRIBUTE, PUBLISH_ON_BEHALF_ATTRIBUTE, SEGMENT_ID_ATTRIBUTE,
        TRANSCRIPTION_FINAL_ATTRIBUTE, TRANSCRIPTION_TOPIC, TrackSource,
    },
};

/// Plays steps on a room.
pub(super) struct Player {
    pub(super) room: Weak<Room>,
}

impl Player {
    /// Plays one step; `false` when the room is gone.
    pub(super) async fn step(&self, step: Step) -> bool {
        let Some(room) = self.room.upgrade() else { return false };
        match step {
            Step::Wait(duration) => {
                drop(room);
                tokio::time::sleep(duration).await;
                true
            }
            Step::Fact(fact) => room.push(fact),
            Step::AgentJoins(agent) => {
                lock(&room.participants).push(agent.participant.clone());
                join(&room, agent.participant)
            }
            Step::AvatarJoins(identity) => {
                let agent = agent_mut(&mut lock(&room.participants)).map(|a| a.identity.clone());
                let Some(agent) = agent else { return true };
                let sid = room.next_id(&format!("TR_{identity}_camera"));
                let worker = ParticipantFact::agent(identity)
                    .with_attribute(PUBLISH_ON_BEHALF_ATTRIBUTE, agent)
                    .with_track(track_fact(sid, TrackSource::Camera));
                lock(&room.participants).push(worker.clone());
                join(&room, worker)
            }
            Step::PublishTrack { identity, source } => {
                let sid =
                    room.next_id(&format!("TR_{identity}_{}", source_name(source).to_lowercase()));
                let track = track_fact(sid.clone(), source);
                {
                    let mut participants = lock(&room.participants);
                    let Some(p) = participants.iter_mut().find(|p| p.identity == identity) else {
                        return true;
                    };
                    p.tracks.push(track.clone());
                }
                room.push(RoomFact::TrackPublished { identity: identity.clone(), track })
                    && room.push(RoomFact::TrackSubscribed { identity, sid })
            }
            Step::MuteTrack { identity, source, muted } => {
                let sid = {
                    let mut participants = lock(&room.participants);
                    let track =
                        participants.iter_mut().find(|p| p.identity == identity).and_then(|p| {
                            p.tracks.iter_mut().find(|t| t.source == source_name(source))
                        });
                    let Some(track) = track else { return true };
                    track.muted = muted;
                    track.sid.clone()
                };
                room.push(if muted {
                    RoomFact::TrackMuted { identity, sid }
                } else {
                    RoomFact::TrackUnmuted { identity, sid }
                })
            }
            Step::UnpublishTrack { identity, source } => {
                let sid = {
                    let mut participants = lock(&room.participants);
                    let Some(p) = participants.iter_mut().find(|p| p.identity == identity) else {
                        return true;
                    };
                    let Some(index) = p.tracks.iter().position(|t| t.source == source_name(source))
                    else {
                        return true;
                    };
                    p.tracks.remove(index).sid
                };
                room.push(RoomFact::TrackUnpublished { identity, sid })
            }
            Step::AgentState(state) => {
                let fact = {
                    let mut participants = lock(&room.participants);
                    let Some(agent) = agent_mut(&mut participants) else { return true };
                    agent.attributes.insert(AGENT_STATE_ATTRIBUTE.to_owned(), state.clone());
                    RoomFact::AttributesChanged {
                        identity: agent.identity.clone(),
                        changed: BTreeMap::from([(AGENT_STATE_ATTRIBUTE.to_owned(), state)]),
                        attributes: agent.attributes.clone(),
                    }
                };
                room.push(fact)
            }
            Step::AgentSays(text) => {
                let agent = agent_mut(&mut lock(&room.participants)).map(|a| a.identity.clone());
                let Some(agent) = agent else { return true };
                let (interval, stream_id) = (room.word_interval, room.next_id("stream"));
                let attributes = BTreeMap::from([
                    (SEGMENT_ID_ATTRIBUTE.to_owned(), room.next_id("segment")),
                    (TRANSCRIPTION_FINAL_ATTRIBUTE.to_owned(), "false".to_owned()),
                ]);
                if !room.push(opened(&stream_id, &agent, attributes.clone())) {
                    return false;
                }
                drop(room);
                for chunk in words(&text) {
                    tokio::time::sleep(interval).await;
                    let Some(room) = self.room.upgrade() else { return false };
                    if !room
                        .push(RoomFact::StreamChunk { stream_id: stream_id.clone(), text: chunk })
                    {
                        return false;
                    }
                }
                let Some(room) = self.room.upgrade() else { return false };
                // Agents send `lk.transcription_final: true` only in the trailer.
                let mut trailer = attributes;
                trailer.insert(TRANSCRIPTION_FINAL_ATTRIBUTE.to_owned(), "true".to_owned());
                room.push(RoomFact::StreamClosed { stream_id, attributes: trailer, error: None })
            }
            Step::AgentStreamFails { text, reason } => {
                let agent = agent_mut(&mut lock(&room.participants)).map(|a| a.identity.clone());
                let Some(agent) = agent else { return true };
                let stream_id = room.next_id("stream");
                room.push(opened(&stream_id, &agent, BTreeMap::new()))
                    && room.push(RoomFact::StreamChunk { stream_id: stream_id.clone(), text })
                    && room.push(RoomFact::StreamClosed {
                        stream_id,
                        attributes: BTreeMap::new(),
                        error: Some(reason),
                    })
            }
            Step::UserSays(text) => {
                let segment = room.next_id("segment");
                let local = room.local_identity.clone();
                let interval = room.word_interval;
                drop(room);
                let mut so_far = String::new();
                let chunks = words(&text);
                let last = chunks.len().saturating_sub(1);
                for (index, chunk) in chunks.into_iter().enumerate() {
                    so_far.push_str(&chunk);
                    tokio::time::sleep(interval).await;
                    let Some(room) = self.room.upgrade() else { return false };
                    let is_final = if index == last { "true" } else { "false" };
                    let stream_id = room.next_id("stream");
                    let attributes = BTreeMap::from([
                        (SEGMENT_ID_ATTRIBUTE.to_owned(), segment.clone()),
                        (TRANSCRIPTION_FINAL_ATTRIBUTE.to_owned(), is_final.to_owned()),
                    ]);
                    let sent = room.push(opened(&stream_id, &local, attributes.clone()))
                        && room.push(RoomFact::StreamChunk {
                            stream_id: stream_id.clone(),
                            text: so_far.clone(),
                        })
                        && room.push(RoomFact::StreamClosed { stream_id, attributes, error: None });
                    if !sent {
                        return false;
                    }
                }
                true
            }
            Step::AgentLeaves => {
                let agent = {
                    let mut participants = lock(&room.participants);
                    let Some(index) = agent_index(&participants) else { return true };
                    participants.remove(index)
                };
                room.push(RoomFact::ParticipantLeft { identity: agent.identity })
            }
            Step::Reconnect => {
                // livekit 0.10 `handle_restarting`: every remote participant disconnected,
                // then `Reconnecting`; `handle_signal_restarted`: the join response's
                // participants connected again; `handle_restarted`: `Reconnected` once the
                // local tracks are republished.
                let participants = lock(&room.participants).clone();
                let left = participants
                    .iter()
                    .all(|p| room.push(RoomFact::ParticipantLeft { identity: p.identity.clone() }));
                left && room.push(RoomFact::Reconnecting)
                    && participants.into_iter().all(|participant| join(&room, participant))
                    && room.push(RoomFact::Reconnected)
            }
            Step::SignalReconnect => {
                // livekit 0.10 `handle_resuming` / `handle_resumed`.
                room.push(RoomFact::Reconnecting) && room.push(RoomFact::Reconnected)
            }
            Step::Disconnect(reason) => {
                room.push(RoomFact::Disconnected { reason });
                room.close();
                false
            }
        }
    }
}

/// A participant joins with its tracks, in LiveKit's order (livekit 0.10
/// `handle_participant_update`): `ParticipantConnected` before `update_info` publishes its
/// tracks, then auto-subscribe subscribes to each.
pub(super) fn join(room: &Room, mut participant: ParticipantFact) -> bool {
    let tracks = std::mem::take(&mut participant.tracks);
    let identity = participant.identity.clone();
    room.push(RoomFact::ParticipantJoined { participant })
        && tracks.into_iter().all(|track| {
            let sid = track.sid.clone();
            room.push(RoomFact::TrackPublished { identity: identity.clone(), track })
                && room.push(RoomFact::TrackSubscribed { identity: identity.clone(), sid })
        })
}

fn opened(stream_id: &str, sender: &str, attributes: BTreeMap<String, String>) -> RoomFact {
    RoomFact::StreamOpened {
        stream_id: stream_id.to_owned(),
        topic: TRANSCRIPTION_TOPIC.to_owned(),
        sender_identity: sender.to_owned(),
        participant_identity: String::new(),
        attributes,
    }
}

/// The agent that joined last (avatar workers, which publish on an agent's behalf, are not
/// agents).
fn agent_index(participants: &[ParticipantFact]) -> Option<usize> {
    participants
        .iter()
        .rposition(|p| p.kind == "AGENT" && !p.attributes.contains_key(PUBLISH_ON_BEHALF_ATTRIBUTE))
}

fn agent_mut(participants: &mut [ParticipantFact]) -> Option<&mut ParticipantFact> {
    let index = agent_index(participants)?;
    participants.get_mut(index)
}

/// Splits text into word chunks that keep their leading space ("Hi", " there", "!").
fn words(text: &str) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    for ch in text.chars() {
        if ch == ' ' && !current.trim().is_empty() {
            chunks.push(std::mem::take(&mut current));
        }
        current.push(ch);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_their_spaces() {
        assert_eq!(words("Hi there!"), ["Hi", " there!"]);
        assert_eq!(words(" a  b"), [" a", "  b"]);
        assert_eq!(words(""), Vec::<String>::new());
        assert_eq!(words("Hi there!").concat(), "Hi there!");
    }
}
