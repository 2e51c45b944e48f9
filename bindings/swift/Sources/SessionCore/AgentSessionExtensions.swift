import Foundation

extension AgentSession {
    /// The session's changes as a stream: first the current state (connection state, agent,
    /// error, then all messages as `.messagesReset` and all tracks as `.tracksReset`), then every
    /// change, in order.
    ///
    /// Every access starts a new observation. It ends when the iteration ends (a `break`, the
    /// iterating task cancelled) or the stream is released, which cancels the underlying
    /// `TaskHandle`; the stream finishes by itself when the session is released. Events are
    /// buffered without limit until they are read, so none is ever dropped.
    ///
    /// The elements are produced on Rust threads; the iterating task runs wherever it runs.
    /// For UI state, use ``Session``, which applies these events on the main actor.
    public var events: AsyncStream<SessionEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: SessionEvent.self)
        let handle = observe(listener: SessionEventForwarder(continuation))
        continuation.onTermination = { _ in handle.cancel() }
        return stream
    }

    /// Calls `onEvent` with the current state, then with every change, in order, on a Rust
    /// thread, until the returned handle is cancelled or released. Keep `onEvent` quick and hop
    /// to your own queue or actor for anything else.
    public func observe(_ onEvent: @escaping @Sendable (SessionEvent) -> Void) -> TaskHandle {
        observe(listener: ClosureSessionListener(onEvent))
    }
}


extension Agent {
    /// What the agent is doing: `state`, under the name LiveKit's Swift SDK uses
    /// (`session.agent.agentState`).
    public var agentState: AgentState {
        state
    }

    /// Why the agent failed, as an `Error` (LiveKit's `session.agent.error`): `failure` when
    /// `state` is `.failed`, else `nil`. Its `localizedDescription` is the Rust wording.
    public var error: AgentFailure? {
        failure
    }

    /// The agent's video: its own first camera track, else the camera track of the avatar worker
    /// that publishes on its behalf (`videoTrack`, under the name LiveKit's Swift SDK uses). The
    /// agent's voice is `audioTrack`, as in LiveKit's SDK.
    public var avatarVideoTrack: TrackReference? {
        videoTrack
    }
}

extension Script {
    /// When the user sends chat, plays the script `reply` returns for the text (for previews,
    /// UI tests and demos). `reply` runs on a Rust thread.
    ///
    /// ```swift
    /// let script = Script()
    ///     .withAgentInRoom(identity: "agent")
    ///     .onChat { text in Script().agentTurn(text: "You said: \(text)") }
    /// ```
    public func onChat(_ reply: @escaping @Sendable (String) -> Script) -> Script {
        onChat(responder: ClosureChatResponder(reply))
    }
}

/// An agent failure is an `Error` whose `localizedDescription` is the Rust wording (its
/// `description`), so the seed's `session.agent.error?.localizedDescription` reads it.
extension AgentFailure: LocalizedError {
    public var errorDescription: String? {
        description
    }
}
