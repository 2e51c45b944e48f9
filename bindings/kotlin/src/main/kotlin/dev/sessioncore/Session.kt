package dev.sessioncore

import dev.sessioncore.bindings.Agent
import dev.sessioncore.bindings.AgentSession
import dev.sessioncore.bindings.ConnectionState
import dev.sessioncore.bindings.DisconnectReason
import dev.sessioncore.bindings.ForeignRoom
import dev.sessioncore.bindings.ReceivedMessage
import dev.sessioncore.bindings.Script
import dev.sessioncore.bindings.SessionEvent
import dev.sessioncore.bindings.SessionException
import dev.sessioncore.bindings.SessionListener
import dev.sessioncore.bindings.SessionOptions
import dev.sessioncore.bindings.TaskHandle
import dev.sessioncore.bindings.TokenRequestOptions
import dev.sessioncore.bindings.TrackReference
import dev.sessioncore.bindings.TrackSource
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.SendChannel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/**
 * An agent conversation in a LiveKit room (the `Session` of LiveKit's SDKs), as Kotlin
 * [StateFlow]s over the generated [AgentSession]. All behaviour (state machine, agent timeout,
 * transcripts, chat) lives in Rust; this class only mirrors its state into flows.
 *
 * ```
 * val session = Session(tokenSource, TokenRequestOptions(roomName = "support"))
 * val result = session.start()
 * if (result.isFailure) showError(result.exceptionOrNull())
 * session.send("Hello!")
 * session.end() // callable from a click handler; endAndWait() suspends until disconnected
 * session.close()
 * ```
 *
 * ## State
 * [connectionState], [isConnected], [agent], [messages], [error], [disconnectReason] and [tracks] are fed by
 * one [SessionListener] registered when the session is created. They start with the session's
 * state at creation and then follow every change in Rust's order. [events] gives the raw changes.
 * [messages] applies Rust's message operations exactly as they come (insert at index, replace at
 * index, reset): the list rule lives in Rust, this class decides nothing.
 *
 * ## Threading
 * Listener callbacks run on the Rust runtime's threads (named `session-ffi`), never on the main
 * thread. The flows are thread-safe: collect them wherever you like (UI code collects on
 * `Dispatchers.Main`; Compose's `collectAsState` does that). The flows are updated
 * asynchronously, except that [start] sets [connectionState], [isConnected], [agent], [error]
 * and [disconnectReason] from the native session before it returns: right after it, they show
 * the state it ended in (a later change still arrives through the listener).
 *
 * ## Cancellation
 * uniffi does not forward coroutine cancellation to Rust. Cancelling a coroutine suspended in
 * [start] stops the wait but not the connection attempt: call [end] to cancel a start in
 * progress (that start then fails with [SessionException.Cancelled]). Cancelling [send] does not
 * unsend the message. Observation stops when a flow's collection is cancelled or on [close].
 *
 * ## Lifetime
 * [close] stops the observation and releases the native session; it does not leave the room
 * cleanly: call [end] first. Once closed, the flows keep their last values, [events]
 * collections complete, and other methods throw [IllegalStateException].
 *
 * ## Compose
 * The Compose module (`bindings/kotlin/compose`, package `dev.sessioncore.compose`) has
 * LiveKit Android's helpers over this class: `rememberSession(tokenSource)` (closed when it leaves
 * the composition), `SessionScope(session) { session -> … }` with `LocalSession`,
 * `rememberAgent()` and `rememberSessionMessages()` (`messages`, `send`).
 */
class Session private constructor(private val native: AgentSession) : AutoCloseable {
    /**
     * A session that fetches credentials from [tokenSource] with [request]. In the JVM test
     * flavour of the library (no LiveKit transport) it cannot connect: use [scripted] there.
     */
    constructor(
        tokenSource: TokenSource,
        request: TokenRequestOptions = TokenRequestOptions(),
        options: SessionOptions = SessionOptions(),
    ) : this(AgentSession(tokenSource.native, request, options))

    /**
     * LiveKit Android's shape: a session that fetches credentials from [tokenSource] with
     * [options]' `tokenRequestOptions`, `agentConnectTimeout` and `microphoneEnabled`.
     */
    constructor(
        tokenSource: TokenSource,
        options: dev.sessioncore.SessionOptions,
    ) : this(tokenSource, options.tokenRequestOptions, options.toRecord())

    private val mutableConnectionState = MutableStateFlow(native.connectionState())
    private val mutableIsConnected = MutableStateFlow(native.isConnected())
    private val mutableAgent = MutableStateFlow(native.agent())
    private val mutableMessages = MutableStateFlow(native.messages())
    private val mutableError = MutableStateFlow(native.error())
    private val mutableDisconnectReason = MutableStateFlow(native.disconnectReason())
    private val mutableTracks = MutableStateFlow(native.tracks(emptyList(), false))

    /** The connection to the room. */
    val connectionState: StateFlow<ConnectionState> = mutableConnectionState.asStateFlow()

    /** In the room: [ConnectionState.CONNECTED] or [ConnectionState.RECONNECTING]. */
    val isConnected: StateFlow<Boolean> = mutableIsConnected.asStateFlow()

    /** The agent: its state, failure, identity and attributes. */
    val agent: StateFlow<Agent> = mutableAgent.asStateFlow()

    /** The conversation (transcripts and chat), in order of first arrival. */
    val messages: StateFlow<List<ReceivedMessage>> = mutableMessages.asStateFlow()

    /** The session's current error, until the next [start] or [dismissError]. */
    val error: StateFlow<SessionException?> = mutableError.asStateFlow()

    /**
     * Why the last room connection ended (`null` before the first one ended):
     * [DisconnectReason.ClientInitiated] after [end], [DisconnectReason.RoomDeleted] when the
     * agent hung up, … Its `toString()` is the Rust wording.
     */
    val disconnectReason: StateFlow<DisconnectReason?> = mutableDisconnectReason.asStateFlow()

    /**
     * Every published track of the room, remote and local, in publication order; empty while
     * not connected. Rust's track operations (insert, replace, remove at an index; reset) are
     * applied exactly as they come. The agent's own are also on [agent]
     * ([Agent.audioTrack], [Agent.videoTrack]). Rendering stays with LiveKit's Android SDK: for
     * a room the app supplies, render the SDK's own track whose SID is [TrackReference.sid].
     */
    val tracks: StateFlow<List<TrackReference>> = mutableTracks.asStateFlow()

    private val lock = Any()
    private var closed = false
    private val eventChannels = mutableSetOf<SendChannel<SessionEvent>>()

    // Holds only the state flows (not this Session), so an unclosed Session can still be
    // garbage-collected: its native object is then freed, which ends this observation.
    private val observation: TaskHandle =
        native.observe(
            StateMirror(
                java.lang.ref.WeakReference(native),
                mutableConnectionState,
                mutableIsConnected,
                mutableAgent,
                mutableMessages,
                mutableError,
                mutableDisconnectReason,
                mutableTracks,
            ),
        )

    /**
     * Every change of the session as a cold [Flow]: each collection registers its own listener
     * (through [AgentSession.observe]) and first receives the current state
     * ([SessionEvent.ConnectionStateChanged], [SessionEvent.AgentChanged],
     * [SessionEvent.ErrorChanged], [SessionEvent.MessagesReset], [SessionEvent.TracksReset]), then
     * every change in order.
     * Buffered without bound, so no change is lost. Completes when the session is [close]d.
     */
    val events: Flow<SessionEvent> =
        callbackFlow {
            val handle =
                synchronized(lock) {
                    if (closed) {
                        null
                    } else {
                        eventChannels += channel
                        native.observe(
                            object : SessionListener {
                                override fun onEvent(event: SessionEvent) {
                                    trySend(event)
                                }
                            },
                        )
                    }
                }
            if (handle == null) {
                channel.close()
                return@callbackFlow
            }
            awaitClose {
                handle.cancel()
                handle.close()
                synchronized(lock) { eventChannels -= channel }
            }
        }.buffer(Channel.UNLIMITED)

    /**
     * Fetches credentials and connects; only from [ConnectionState.DISCONNECTED]. The first
     * start may use the token source's cache, every later start fetches a fresh token.
     *
     * @return success once connected; otherwise a [SessionException]:
     *   [SessionException.Connection] (its `tokenSource` is the token source's error when
     *   getting credentials failed), [SessionException.NotDisconnected], or
     *   [SessionException.Cancelled] if [end] was called meanwhile.
     */
    suspend fun start(): Result<Unit> {
        // Calls apply in the order the app made them: an end() called before this start
        // finishes first (it would otherwise cancel this start).
        pendingEnd?.join()
        val result =
            try {
                native.start()
                Result.success(Unit)
            } catch (error: SessionException) {
                Result.failure(error)
            }
        resync()
        return result
    }

    /**
     * Sets the whole-value flows from the native getters, so that when [start] returns they show
     * the state it ended in (the listener's events may still be in flight). Events still in
     * flight are older and are followed by the newer ones, so the flows end on the same value.
     * [messages] and [tracks] are not reset here: their index operations must apply in order.
     */
    private fun resync() {
        synchronized(lock) { if (closed) return }
        mutableConnectionState.value = native.connectionState()
        mutableIsConnected.value = native.isConnected()
        mutableAgent.value = native.agent()
        mutableError.value = native.error()
        mutableDisconnectReason.value = native.disconnectReason()
    }

    /** The last [end]'s work, which a later [start] waits for. */
    @Volatile private var pendingEnd: Job? = null

    /** Owns the work [end] starts; cancelled by [close]. */
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    /**
     * Leaves the room, keeping the messages; cancels a [start] in progress. Callable outside a
     * coroutine (LiveKit Android's `end()`, e.g. from a click handler): the work runs in a scope
     * this session owns and [close] cancels. Join the returned [Job] to wait until the session is
     * disconnected; [endAndWait] does both.
     */
    fun end(): Job {
        synchronized(lock) { check(!closed) { "this session is closed" } }
        return scope.launch {
            native.end()
            resync()
        }.also { pendingEnd = it }
    }

    /** [end], suspending until the session is disconnected. */
    suspend fun endAndWait() {
        end().join()
    }

    /**
     * Sends a chat message.
     *
     * @return the message as it appears in [messages] ([dev.sessioncore.bindings.MessageKind.SENT_CHAT]),
     *   or a [SessionException]: [SessionException.EmptyMessage] for empty text,
     *   [SessionException.Sender] when not connected or sending failed.
     */
    suspend fun send(text: String): Result<ReceivedMessage> =
        try {
            Result.success(native.send(text))
        } catch (error: SessionException) {
            Result.failure(error)
        }

    /** Clears [error]. */
    fun dismissError() {
        native.dismissError()
    }

    /** The name of the room the session is in (empty when not connected). */
    fun roomName(): String = native.roomName()

    /**
     * The tracks whose source is one of [sources] (every source when empty) and, with
     * [onlySubscribed], that this session receives, as [tracks] changes: LiveKit's
     * `rememberTracks(sources, onlySubscribed)` / React's `useTracks`. The filter is Rust's
     * ([TrackReference.matches]).
     *
     * ```
     * val cameras by session.tracks(listOf(TrackSource.CAMERA), onlySubscribed = true)
     *     .collectAsState(emptyList())
     * ```
     */
    fun tracks(sources: List<TrackSource>, onlySubscribed: Boolean): Flow<List<TrackReference>> =
        tracks.map { all -> all.filter { it.matches(sources, onlySubscribed) } }.distinctUntilChanged()

    /**
     * The local microphone track while it is published (its `muted` says whether the microphone
     * is enabled); `null` before it is published and when not connected. The instantaneous Rust
     * state.
     */
    fun microphoneTrack(): TrackReference? = native.microphoneTrack()

    /**
     * Replaces the messages with [history] (for example [messages]`.value` saved across process
     * death), ordered by timestamp; [messages] follows with a [SessionEvent.MessagesReset].
     */
    fun restoreMessageHistory(history: List<ReceivedMessage>) {
        native.restoreMessageHistory(history)
    }

    /**
     * Stops observing, completes [events] collections and releases the native session.
     * Idempotent. Call [end] first to leave the room cleanly.
     */
    override fun close() {
        val channels =
            synchronized(lock) {
                if (closed) return
                closed = true
                eventChannels.toList().also { eventChannels.clear() }
            }
        scope.cancel()
        observation.cancel()
        observation.close()
        channels.forEach { it.close() }
        native.close()
    }

    /** Not the token, the messages or the error: only the connection state. */
    override fun toString(): String = "Session(connectionState=${connectionState.value})"

    companion object {
        /** A session that asks [tokenSource] to dispatch the agent [agentName] (with [agentMetadata]). */
        fun withAgent(
            tokenSource: TokenSource,
            agentName: String,
            agentMetadata: String? = null,
            options: SessionOptions = SessionOptions(),
        ): Session = Session(AgentSession.withAgent(tokenSource.native, agentName, agentMetadata, options))

        /**
         * A session whose room is played by [script] instead of LiveKit: for previews, UI tests
         * and demos. Credentials are still fetched from [tokenSource] with [request].
         *
         * ```
         * val session = Session.scripted(
         *     TokenSource.fromLiteral("wss://preview.invalid", "preview"),
         *     Script().agentJoins("agent").agentState("listening").agentTurn("Hi! How can I help?"),
         * )
         * ```
         */
        fun scripted(
            tokenSource: TokenSource,
            script: Script,
            request: TokenRequestOptions = TokenRequestOptions(),
            options: SessionOptions = SessionOptions(),
        ): Session = Session(AgentSession.scripted(tokenSource.native, script, request, options))

        /**
         * A session over a room the app supplies: [room] joins it (for example with LiveKit's
         * Android SDK, whose WebRTC the app already ships) and forwards the room's events as
         * [dev.sessioncore.bindings.RoomFact]s; token caching, the agent model, transcripts and
         * chat run in Rust. See docs/bindings.md ("A room the app supplies").
         */
        fun withRoom(
            tokenSource: TokenSource,
            room: ForeignRoom,
            request: TokenRequestOptions = TokenRequestOptions(),
            options: SessionOptions = SessionOptions(),
        ): Session = Session(AgentSession.withRoom(tokenSource.native, room, request, options))
    }
}

/**
 * Applies session events to the state flows. Called on one Rust task, in order; each update is
 * atomic, so readers on other threads see consistent values.
 */
private class StateMirror(
    // Weak: the listener must not keep the native session alive (see `observation`).
    private val native: java.lang.ref.WeakReference<AgentSession>,
    private val connectionState: MutableStateFlow<ConnectionState>,
    private val isConnected: MutableStateFlow<Boolean>,
    private val agent: MutableStateFlow<Agent>,
    private val messages: MutableStateFlow<List<ReceivedMessage>>,
    private val error: MutableStateFlow<SessionException?>,
    private val disconnectReason: MutableStateFlow<DisconnectReason?>,
    private val tracks: MutableStateFlow<List<TrackReference>>,
) : SessionListener {
    /** [read] of the native session, or null once it is gone or closed. */
    private fun <T> current(read: (AgentSession) -> T): T? =
        native.get()?.let { session ->
            try {
                read(session)
            } catch (closed: IllegalStateException) {
                null
            }
        }

    override fun onEvent(event: SessionEvent) {
        when (event) {
            // Whole values are read from the native session when it is still there, so that an
            // event delivered after [Session.start]'s resync cannot bring back an older value.
            is SessionEvent.ConnectionStateChanged -> {
                val state = current { it.connectionState() } ?: event.state
                connectionState.value = state
                // The rule lives in Rust: connected or reconnecting.
                isConnected.value = state.isConnected()
            }
            is SessionEvent.AgentChanged -> agent.value = current { it.agent() } ?: event.agent
            is SessionEvent.ErrorChanged -> error.value = if (native.get() == null) event.error else current { it.error() }
            is SessionEvent.Disconnected ->
                disconnectReason.value = if (native.get() == null) event.reason else current { it.disconnectReason() }
            // The message operations, applied as they come (the rule is Rust's).
            is SessionEvent.MessageInserted ->
                messages.update { it.toMutableList().apply { add(event.index.toInt(), event.message) } }
            is SessionEvent.MessageReplaced ->
                messages.update { it.toMutableList().apply { set(event.index.toInt(), event.message) } }
            is SessionEvent.MessagesReset -> messages.value = event.messages.toList()
            // The track operations, applied as they come (the rule is Rust's).
            is SessionEvent.TrackInserted ->
                tracks.update { it.toMutableList().apply { add(event.index.toInt(), event.track) } }
            is SessionEvent.TrackReplaced ->
                tracks.update { it.toMutableList().apply { set(event.index.toInt(), event.track) } }
            is SessionEvent.TrackRemoved ->
                tracks.update { it.toMutableList().apply { removeAt(event.index.toInt()) } }
            is SessionEvent.TracksReset -> tracks.value = event.tracks.toList()
        }
    }
}
