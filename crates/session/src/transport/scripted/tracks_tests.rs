//! The scripted room's track facts, in LiveKit's orders.

use std::time::Duration;

use super::*;
use crate::{FactReceiver, TrackSource};

fn drain(facts: &mut FactReceiver) -> Vec<RoomFact> {
    let mut all = Vec::new();
    while let Ok(fact) = facts.try_recv() {
        all.push(fact);
    }
    all
}

/// A short description: `kind:identity:sid`.
fn describe(fact: &RoomFact) -> String {
    match fact {
        RoomFact::Connected { participants, .. } => {
            let tracks: Vec<_> = participants
                .iter()
                .flat_map(|p| p.tracks.iter().map(|t| format!("{}/{}", t.sid, t.subscribed)))
                .collect();
            format!("connected:{}", tracks.join(","))
        }
        RoomFact::ParticipantJoined { participant } => {
            format!("joined:{}:{}", participant.identity, participant.tracks.len())
        }
        RoomFact::ParticipantLeft { identity } => format!("left:{identity}"),
        RoomFact::TrackPublished { identity, track } => {
            format!("published:{identity}:{}:{}:{}", track.sid, track.source, track.kind)
        }
        RoomFact::TrackUnpublished { identity, sid } => format!("unpublished:{identity}:{sid}"),
        RoomFact::TrackSubscribed { identity, sid } => format!("subscribed:{identity}:{sid}"),
        RoomFact::TrackMuted { identity, sid } => format!("muted:{identity}:{sid}"),
        RoomFact::TrackUnmuted { identity, sid } => format!("unmuted:{identity}:{sid}"),
        RoomFact::AttributesChanged { identity, .. } => format!("attributes:{identity}"),
        other => format!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn track_steps_publish_subscribe_mute_and_unpublish_in_livekits_order() {
    let script = Script::new()
        .with_agent_in_room(ScriptedAgent::new("agent").with_microphone())
        .avatar_joins("avatar")
        .mute_track("agent", TrackSource::Microphone)
        .unmute_track("agent", TrackSource::Microphone)
        .unpublish_track("avatar", TrackSource::Camera)
        .publish_track("agent", TrackSource::ScreenShare)
        .mute_track("nobody", TrackSource::Camera)
        .unpublish_track("agent", TrackSource::Camera)
        .agent_state("listening")
        .reconnect();
    let transport = ScriptedTransport::new(script);
    let (sink, mut facts) = FactSink::channel();
    let _link = transport.connect("wss://x", "t", sink).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let described: Vec<_> = drain(&mut facts).iter().map(describe).collect();
    assert_eq!(
        described,
        [
            // The snapshot's tracks are not subscribed yet; auto-subscribe follows.
            "connected:TR_agent_microphone/false",
            "subscribed:agent:TR_agent_microphone",
            // A participant is announced before its tracks are published.
            "joined:avatar:0",
            "published:avatar:TR_avatar_camera-1:CAMERA:VIDEO",
            "subscribed:avatar:TR_avatar_camera-1",
            "muted:agent:TR_agent_microphone",
            "unmuted:agent:TR_agent_microphone",
            "unpublished:avatar:TR_avatar_camera-1",
            "published:agent:TR_agent_screen_share-2:SCREEN_SHARE:VIDEO",
            "subscribed:agent:TR_agent_screen_share-2",
            // Steps about nobody, or a track that is not there, do nothing. "The agent" is
            // the agent, not its avatar worker.
            "attributes:agent",
            // A full reconnect re-announces everyone with their tracks.
            "left:agent",
            "left:avatar",
            "Reconnecting",
            // livekit 0.10: the join response's participants (and their tracks) are back
            // before `Reconnected` (handle_signal_restarted, then handle_restarted).
            "joined:agent:0",
            "published:agent:TR_agent_microphone:MICROPHONE:AUDIO",
            "subscribed:agent:TR_agent_microphone",
            "published:agent:TR_agent_screen_share-2:SCREEN_SHARE:VIDEO",
            "subscribed:agent:TR_agent_screen_share-2",
            "joined:avatar:0",
            "Reconnected",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn the_local_microphone_is_published_once_then_muted_and_unmuted() {
    let transport = ScriptedTransport::new(Script::new());
    let (sink, mut facts) = FactSink::channel();
    let link = transport.connect("wss://x", "t", sink).await.unwrap();
    drain(&mut facts);
    link.set_microphone_enabled(false).await.unwrap();
    assert!(drain(&mut facts).is_empty(), "nothing to mute before it is published");
    for enabled in [true, true, false, false, true] {
        link.set_microphone_enabled(enabled).await.unwrap();
    }
    let published = drain(&mut facts);
    let described: Vec<_> = published.iter().map(describe).collect();
    assert_eq!(
        described,
        [
            "published:user:TR_user_microphone:MICROPHONE:AUDIO",
            "muted:user:TR_user_microphone",
            "unmuted:user:TR_user_microphone",
        ]
    );
    let RoomFact::TrackPublished { track, .. } = &published[0] else { unreachable!() };
    assert!(track.subscribed && !track.muted, "our own track");

    // An unavailable microphone publishes nothing.
    let transport = ScriptedTransport::new(Script::new().with_microphone_unavailable("no device"));
    let (sink, mut facts) = FactSink::channel();
    let link = transport.connect("wss://x", "t", sink).await.unwrap();
    drain(&mut facts);
    assert!(link.set_microphone_enabled(true).await.is_err());
    assert!(drain(&mut facts).is_empty());
}
