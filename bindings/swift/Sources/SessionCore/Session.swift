import Combine
import Foundation

/// An agent conversation in a LiveKit room, as an `ObservableObject` for SwiftUI: LiveKit's
/// `Session`, backed by the Rust ``AgentSession``.
///
/// ```swift
/// struct MyTokenSource: TokenSourceConfigurable {
///     func fetch(_ options: TokenRequestOptions) async throws -> TokenSourceResponse {
///         let token = try await myBackend.participantToken(room: options.roomName, agent: options.agentName)
///         return TokenSourceResponse(serverURL: "wss://my-project.livekit.cloud", participantToken: token)
///     }
/// }
///
/// @main @MainActor
/// struct SessionApp: App {
///     @StateObject private var session = Session(tokenSource: MyTokenSource())
///
///     var body: some Scene {
///         WindowGroup {
///             ContentView()
///                 .environmentObject(session)
///                 .alert(session.error?.localizedDescription ?? "Error",
///                        isPresented: .constant(session.error != nil)) {
///                     Button("OK", action: session.dismissError)
///                 }
///         }
///     }
/// }
///
/// struct ContentView: View {
///     @EnvironmentObject var session: Session
///
///     var body: some View {
///         if session.isConnected {
///             Button("Disconnect") { Task { await session.end() } }
///             Text(String(describing: session.agent.agentState))
///         } else {
///             Button("Connect") { Task { await session.start() } }
///         }
///     }
/// }
/// ```
///
/// ## State
/// `connectionState`, `agent`, `messages` and `error` are the Rust session's state, published on
/// the main actor. One `SessionListener`, registered when the session is created, receives Rust's
/// events on a Rust thread and passes them through one ordered `AsyncStream` to one main-actor
/// task, which applies them in Rust's order. The published values therefore trail the Rust state
/// by one hop to the main actor: right after `await start()` returns, `connectionState` may still
/// read `.connecting` until the queued events are applied. `agentSession` answers with the
/// instantaneous Rust state.
///
/// ## Cancellation
/// uniffi does not forward Swift task cancellation into Rust: cancelling the task that awaits
/// `start()` does not stop the start. Call ``end()`` (a pending `start()` then fails with
/// `SessionError.Cancelled`). Releasing the `Session` stops the observation and releases the
/// `AgentSession`; when no other reference to it is left, Rust stops the session's background
/// work, but prefer `end()` to leave the room explicitly.
@MainActor
public final class Session: ObservableObject {
    /// The Rust session this object presents. Safe to use from any thread.
    public nonisolated let agentSession: AgentSession

    /// The connection to the room.
    @Published public private(set) var connectionState: ConnectionState
    /// The agent: its state (`agent.agentState`), identity and failure.
    @Published public private(set) var agent: Agent
    /// The conversation (transcripts and chat) in order of first arrival, updated in place while
    /// a message streams in. Kept when the session ends.
    @Published public private(set) var messages: [ReceivedMessage]
    /// The session's current error (a failed start, a lost connection, a failed send), until
    /// ``dismissError()`` or the next ``start()``.
    @Published public private(set) var error: SessionError?
    /// Why the last room connection ended (`nil` before the first one ended): `.clientInitiated`
    /// after ``end()``, `.roomDeleted` when the agent hung up, … Its description is Rust's.
    @Published public private(set) var disconnectReason: DisconnectReason?
    /// Every published track of the room, remote and local, in publication order; empty while not
    /// connected. Rust's track operations (insert, replace, remove at an index; reset) are applied
    /// exactly as they come. The agent's own are also on ``agent`` (`agent.audioTrack`,
    /// `agent.avatarVideoTrack`). Rendering stays with LiveKit's Swift SDK: for a room the app
    /// supplies, render the SDK's own track whose SID is `TrackReference.sid`.
    @Published public private(set) var tracks: [TrackReference]

    /// Applies the Rust session's events on the main actor; stops when the session is released.
    private let eventLoop = MainActorEventLoop()

    /// Presents `agentSession`. The published properties start from its current state.
    public init(agentSession: AgentSession) {
        self.agentSession = agentSession
        connectionState = agentSession.connectionState()
        agent = agentSession.agent()
        messages = agentSession.messages()
        error = agentSession.error()
        disconnectReason = agentSession.disconnectReason()
        tracks = agentSession.tracks(sources: [], onlySubscribed: false)
        // The listener's first events repeat the current state, so nothing between the reads
        // above and the registration is missed.
        eventLoop.run(agentSession.events) { [weak self] event in
            guard let self else { return false }
            self.apply(event)
            return true
        }
    }

    /// A session that fetches credentials from `tokenSource` with `options` and connects through
    /// LiveKit.
    ///
    /// - Parameters:
    ///   - tokenSource: Where credentials come from (`TokenSource.literal`, `.endpoint`,
    ///     `.custom { … }`, `.developmentTokenServer`).
    ///   - options: What to ask the token source for (room, participant, agent to dispatch).
    ///   - sessionOptions: The agent timeout (20 s by default) and whether `start` publishes the
    ///     microphone (yes by default).
    public convenience init(
        tokenSource: TokenSource,
        options: TokenRequestOptions = TokenRequestOptions(),
        sessionOptions: SessionOptions = SessionOptions()
    ) {
        self.init(agentSession: AgentSession(tokenSource: tokenSource, request: options, options: sessionOptions))
    }

    /// A session whose credentials come from your own source (cached: see
    /// ``TokenSourceConfigurable``): `Session(tokenSource: MyTokenSource())`.
    public convenience init(
        tokenSource: some TokenSourceConfigurable,
        options: TokenRequestOptions = TokenRequestOptions(),
        sessionOptions: SessionOptions = SessionOptions()
    ) {
        self.init(tokenSource: TokenSource.custom(tokenSource), options: options, sessionOptions: sessionOptions)
    }

    /// A session that asks `tokenSource` to dispatch the agent `agentName` (with
    /// `agentMetadata`) into the room. The agent then has `sessionOptions.agentConnectTimeoutMs`
    /// to become available before `agent.failure` is `.timeout`.
    public static func withAgent(
        tokenSource: TokenSource,
        agentName: String,
        agentMetadata: String? = nil,
        sessionOptions: SessionOptions = SessionOptions()
    ) -> Session {
        Session(agentSession: AgentSession.withAgent(
            tokenSource: tokenSource,
            agentName: agentName,
            agentMetadata: agentMetadata,
            options: sessionOptions
        ))
    }

    /// A session over a room the app supplies: `room` joins it with LiveKit's Swift SDK (whose
    /// WebRTC the app already ships) and forwards the room's events as `RoomFact`s; token
    /// caching, the agent model, transcripts and chat run in Rust. See docs/bindings.md ("A room
    /// the app supplies") and bindings/swift/docs/ForeignRoomSketch.md.
    public static func withRoom(
        tokenSource: TokenSource,
        room: ForeignRoom,
        options: TokenRequestOptions = TokenRequestOptions(),
        sessionOptions: SessionOptions = SessionOptions()
    ) -> Session {
        Session(agentSession: AgentSession.withRoom(
            tokenSource: tokenSource,
            room: room,
            request: options,
            options: sessionOptions
        ))
    }

    /// A session whose room is played by `script`: for SwiftUI previews, UI tests and demos. No
    /// network is used.
    ///
    /// ```swift
    /// #Preview {
    ///     ContentView().environmentObject(Session.scripted(
    ///         Script().withAgentInRoom(identity: "agent").agentTurn(text: "Hi! How can I help?")))
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - script: What the room does after the session connects.
    ///   - tokenSource: The credentials `start` fetches; the script ignores them. The default is a
    ///     fixed placeholder. Pass a token whose `roomConfig` dispatches an agent to exercise the
    ///     agent timeout.
    ///   - options: What to ask the token source for.
    ///   - sessionOptions: The agent timeout and the microphone setting.
    public static func scripted(
        _ script: Script,
        tokenSource: TokenSource = TokenSource.literal(serverUrl: "wss://scripted.invalid", participantToken: "scripted"),
        options: TokenRequestOptions = TokenRequestOptions(),
        sessionOptions: SessionOptions = SessionOptions()
    ) -> Session {
        Session(agentSession: AgentSession.scripted(
            tokenSource: tokenSource,
            script: script,
            request: options,
            options: sessionOptions
        ))
    }

    /// In the room: connected or reconnecting.
    public var isConnected: Bool {
        connectionState.isConnected()
    }

    /// Fetches credentials and connects (only from `.disconnected`); a failure is reported in
    /// ``error``, as in LiveKit's SDK.
    ///
    /// When the Rust session records the failure as its error (credentials or connection
    /// failures), `error` is set before this returns. Failures Rust does not record leave `error`
    /// unchanged: starting a session that is not disconnected (`.NotDisconnected`), or one ended
    /// while starting (`.Cancelled`). Use ``startThrowing()`` to get the error itself.
    public func start() async {
        do {
            try await startThrowing()
        } catch is SessionError {
            if let recorded = agentSession.error() {
                self.error = recorded
            }
        } catch {
            // Not a SessionError: a failure inside the FFI itself (a Rust panic), which Rust
            // cannot record. Report it rather than fail silently.
            self.error = .Connection(reason: error.localizedDescription, tokenSource: nil)
        }
    }

    /// Fetches credentials and connects (only from `.disconnected`), throwing the failure.
    ///
    /// Throws `SessionError`: `.Connection` (credentials or connect failed; its `tokenSource` is
    /// the token source's error), `.NotDisconnected`, or `.Cancelled` (``end()`` was called
    /// meanwhile). ``error`` follows the Rust session's events; it does not wait for them.
    ///
    /// The first start uses the token source's cache; every later start fetches a fresh token.
    public func startThrowing() async throws {
        try await agentSession.start()
    }

    /// Leaves the room, keeping the messages. Returns when the session is disconnected; a no-op
    /// when it is already disconnected.
    public func end() async {
        await agentSession.end()
    }

    /// Sends `text` as a chat message and returns it as it appears in ``messages``.
    ///
    /// Throws `SessionError`: `.EmptyMessage` for blank text, `.Sender` when not connected or
    /// when sending failed (Rust then also records it as ``error``).
    @discardableResult
    public func send(_ text: String) async throws -> ReceivedMessage {
        try await agentSession.send(text: text)
    }

    /// Clears ``error``, here and in the Rust session.
    public func dismissError() {
        agentSession.dismissError()
        error = nil
    }

    /// The name of the room the session is in (empty when not connected).
    public var roomName: String {
        agentSession.roomName()
    }

    /// The tracks whose source is one of `sources` (every source when empty) and, with
    /// `onlySubscribed`, that this session receives, from ``tracks``: React's
    /// `useTracks(sources, { onlySubscribed })`. Read in a SwiftUI body, it follows ``tracks``.
    /// The filter is Rust's (`TrackReference.matches`).
    public func tracks(_ sources: [TrackSource], onlySubscribed: Bool) -> [TrackReference] {
        tracks.filter { $0.matches(sources: sources, onlySubscribed: onlySubscribed) }
    }

    /// The local microphone track while it is published (its `muted` says whether the microphone
    /// is enabled); `nil` before it is published and when not connected. The instantaneous Rust
    /// state.
    public var microphoneTrack: TrackReference? {
        agentSession.microphoneTrack()
    }

    /// Replaces the messages with `history` (for example ``messages`` saved earlier; ordered by
    /// timestamp by Rust); ``messages`` follows with the next event.
    public func restoreMessageHistory(_ history: [ReceivedMessage]) {
        agentSession.restoreMessageHistory(history: history)
    }

    /// The session's changes as a stream: the current state first, then every change, in order
    /// (see `AgentSession.events`). Every access starts a new observation; iterate it from any
    /// task.
    public nonisolated var events: AsyncStream<SessionEvent> {
        agentSession.events
    }

    /// Applies one event. The message and track operations are applied exactly as they come (insert at
    /// index, replace at index, reset): the list rule is Rust's, this class decides nothing.
    private func apply(_ event: SessionEvent) {
        switch event {
        case let .connectionStateChanged(state):
            if connectionState != state { connectionState = state }
        case let .agentChanged(agent):
            if self.agent != agent { self.agent = agent }
        case let .errorChanged(error):
            if self.error != error { self.error = error }
        case let .disconnected(reason):
            disconnectReason = reason
        case let .messageInserted(index, message):
            messages.insert(message, at: Int(index))
        case let .messageReplaced(index, message):
            messages[Int(index)] = message
        case let .messagesReset(messages):
            self.messages = messages
        // The track operations, applied as they come (the rule is Rust's).
        case let .trackInserted(index, track):
            tracks.insert(track, at: Int(index))
        case let .trackReplaced(index, track):
            tracks[Int(index)] = track
        case let .trackRemoved(index):
            tracks.remove(at: Int(index))
        case let .tracksReset(tracks):
            self.tracks = tracks
        }
    }
}

/// One main-actor task that consumes an event stream in order. Cancelled when released (that is,
/// when its `Session` is released), which ends the stream's iteration and so the Rust
/// observation.
private final class MainActorEventLoop: @unchecked Sendable {
    // `task` is written once, from the main actor, right after creation; the lock makes reads
    // from `deinit` (any thread) well-defined.
    private let lock = NSLock()
    private var task: Task<Void, Never>?

    /// Applies every element of `stream` with `apply`, on the main actor, until the stream ends,
    /// this loop is released, or `apply` returns `false`.
    @MainActor
    func run(_ stream: AsyncStream<SessionEvent>, _ apply: @escaping @Sendable @MainActor (SessionEvent) -> Bool) {
        let task = Task { @MainActor in
            for await event in stream {
                guard apply(event) else { return }
            }
        }
        lock.lock()
        self.task = task
        lock.unlock()
    }

    deinit {
        lock.lock()
        let task = self.task
        lock.unlock()
        task?.cancel()
    }
}
