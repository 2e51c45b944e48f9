@file:JvmName("SessionComposables")

package dev.sessioncore.compose

import androidx.compose.runtime.Composable
import androidx.compose.runtime.CompositionLocalProvider
import androidx.compose.runtime.ProvidableCompositionLocal
import androidx.compose.runtime.RememberObserver
import androidx.compose.runtime.Stable
import androidx.compose.runtime.State
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.compositionLocalOf
import androidx.compose.runtime.derivedStateOf
import androidx.compose.runtime.getValue
import androidx.compose.runtime.remember
import dev.sessioncore.Session
import dev.sessioncore.TokenRequestOptions
import dev.sessioncore.TokenSource
import dev.sessioncore.bindings.Agent
import dev.sessioncore.ReceivedChatMessage
import dev.sessioncore.ReceivedMessage
import dev.sessioncore.toReceivedMessage
import dev.sessioncore.bindings.SessionOptions

// Compose helpers over the Kotlin `Session` (LiveKit Android's components-android names:
// `rememberSession`, `SessionScope`, `rememberAgent`, `rememberSessionMessages`). They hold no
// behaviour: state comes from the session's StateFlows, which Rust feeds; these functions only
// tie a session's lifetime to the composition and turn its flows into Compose state.
//
// Threading: the flows are updated on Rust threads and collected in the composition's coroutine
// context (the main thread on Android), so composables always read them on the UI thread.

/**
 * The [Session] provided by the nearest [SessionScope] (LiveKit Android calls it `SessionLocal`).
 * Reading it outside a [SessionScope] throws [IllegalStateException].
 */
val LocalSession: ProvidableCompositionLocal<Session> =
    compositionLocalOf {
        throw IllegalStateException(
            "No session here: call this inside SessionScope(session) { … }, or pass the session.",
        )
    }

/** [LocalSession] under LiveKit Android's name. */
val SessionLocal: ProvidableCompositionLocal<Session> get() = LocalSession

/**
 * A [Session] that lives as long as this point of the composition: created on first
 * composition, and closed (leaving the room) when it leaves the composition or when
 * [tokenSource], [options] or [tokenRequestOptions] change (a new session is then created).
 * Like LiveKit Android's `rememberSession(tokenSource, options)`; start it with
 * [Session.start], typically from a `LaunchedEffect`.
 *
 * ```
 * val tokenSource = remember { TokenSource.fromCustom { options -> … } }
 * val session = rememberSession(tokenSource = tokenSource)
 * ```
 */
@Composable
fun rememberSession(
    tokenSource: TokenSource,
    options: SessionOptions = SessionOptions(),
    tokenRequestOptions: TokenRequestOptions = TokenRequestOptions(),
): Session =
    rememberSession(tokenSource, options, tokenRequestOptions) {
        Session(tokenSource, tokenRequestOptions, options)
    }

/**
 * LiveKit Android's `rememberSession(tokenSource, SessionOptions(agentConnectTimeout = …,
 * tokenRequestOptions = …))`, with the same lifetime as the other [rememberSession].
 */
@Composable
fun rememberSession(tokenSource: TokenSource, options: dev.sessioncore.SessionOptions): Session =
    rememberSession(tokenSource, options) { Session(tokenSource, options) }

/**
 * A session made by [create], with the same lifetime as the other [rememberSession]: created on
 * first composition or when one of [keys] changes, closed when it leaves the composition (or is
 * replaced). For sessions made another way, e.g. `Session.scripted(…)` for previews and tests,
 * or `Session.withAgent(…)`.
 */
@Composable
fun rememberSession(vararg keys: Any?, create: () -> Session): Session =
    remember(*keys) { ClosedOnForget(create()) }.session

/**
 * Provides [session] to [content] through [LocalSession], so that [rememberAgent],
 * [rememberSessionMessages] and [requireSession] find it without being passed it. Like LiveKit
 * Android's `SessionScope(session) { session -> … }`.
 */
@Composable
fun SessionScope(session: Session, content: @Composable (session: Session) -> Unit) {
    CompositionLocalProvider(LocalSession provides session) { content(session) }
}

/**
 * [session] if given, otherwise the one provided by the nearest [SessionScope].
 *
 * @throws IllegalStateException if [session] is null outside a [SessionScope].
 */
@Composable
fun requireSession(session: Session? = null): Session = session ?: LocalSession.current

/**
 * The agent of [session] (or of the [SessionScope]'s session) as Compose state: the caller
 * recomposes when the agent changes (its state, failure, identity or attributes).
 */
@Composable
fun rememberAgent(session: Session? = null): Agent {
    val agent by requireSession(session).agent.collectAsState()
    return agent
}

/**
 * The conversation of [session] (or of the [SessionScope]'s session): [SessionMessages.messages]
 * is Compose state (transcripts and chat, in the order Rust keeps them), and
 * [SessionMessages.send] sends a chat message. Like LiveKit Android's `rememberSessionMessages()`.
 */
@Composable
fun rememberSessionMessages(session: Session? = null): SessionMessages {
    val current = requireSession(session)
    val records = current.messages.collectAsState()
    // LiveKit Android's message types, mapped one to one from the records (by kind).
    val messages = remember(records) { derivedStateOf { records.value.map { it.toReceivedMessage() } } }
    return remember(current, messages) { SessionMessages(current, messages) }
}

/** The messages of a session and a way to send one; see [rememberSessionMessages]. */
@Stable
class SessionMessages internal constructor(
    private val session: Session,
    messages: State<List<ReceivedMessage>>,
) {
    /**
     * Every message, in order, in LiveKit Android's shape ([ReceivedChatMessage],
     * `ReceivedUserTranscriptionMessage`, `ReceivedAgentTranscriptionMessage`); the composable
     * that called [rememberSessionMessages] recomposes when they change.
     */
    val messages: List<ReceivedMessage> by messages

    /**
     * Sends [message] as chat. It appears in [messages] as a sent chat message.
     *
     * @return the message as it appears in [messages], or a failure
     *   (`SessionException.EmptyMessage`, or `SessionException.Sender` when not connected).
     */
    suspend fun send(message: String): Result<ReceivedChatMessage> =
        session.send(message).map { ReceivedChatMessage(it) }
}

/** Holds a remembered session and closes it when the composition forgets (or abandons) it. */
private class ClosedOnForget(val session: Session) : RememberObserver {
    override fun onRemembered() = Unit

    override fun onForgotten() {
        session.close()
    }

    override fun onAbandoned() {
        session.close()
    }
}
