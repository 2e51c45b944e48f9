//! The session's tracks: a `useTracks`-style query and the local microphone.

use super::Session;
use crate::{
    core::tracks::TrackReference,
    room::protocol::{TrackKind, TrackSource},
};

impl Session {
    /// The room's tracks whose source is one of `sources` (every source when empty) and, with
    /// `only_subscribed`, that this session receives — React's
    /// `useTracks(sources, { onlySubscribed })`. Remote and local tracks, in publication order
    /// (the order [`SessionEvent`](crate::SessionEvent)'s track operations keep). Empty while
    /// not connected.
    ///
    /// ```
    /// use session::{Script, ScriptedAgent, ScriptedTransport, Session, SessionOptions, TrackSource};
    /// use token_source::{TokenRequestOptions, TokenSource};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), session::SessionError> {
    /// let agent = ScriptedAgent::new("agent").with_microphone();
    /// let transport = ScriptedTransport::new(Script::new().with_agent_in_room(agent));
    /// let session = Session::with_options(
    ///     TokenSource::literal("wss://example.livekit.cloud", "token"),
    ///     TokenRequestOptions::new(),
    ///     SessionOptions::new().with_transport(transport).with_microphone_enabled(false),
    /// );
    /// session.start().await?;
    /// let voices = session.tracks(&[TrackSource::Microphone], true);
    /// assert_eq!(voices[0].participant_identity, "agent");
    /// assert!(session.tracks(&[TrackSource::Camera], true).is_empty());
    /// # Ok(()) }
    /// ```
    pub fn tracks(&self, sources: &[TrackSource], only_subscribed: bool) -> Vec<TrackReference> {
        let inner = self.shared.lock();
        inner
            .core
            .tracks()
            .iter()
            .filter(|track| track.matches(sources, only_subscribed))
            .cloned()
            .collect()
    }

    /// The local microphone track while it is published (its `muted` says whether it is
    /// enabled); `None` before it is published and when not connected.
    pub fn microphone_track(&self) -> Option<TrackReference> {
        let inner = self.shared.lock();
        inner
            .core
            .tracks()
            .iter()
            .find(|t| {
                t.is_local && t.source == TrackSource::Microphone && t.kind == TrackKind::Audio
            })
            .cloned()
    }
}
