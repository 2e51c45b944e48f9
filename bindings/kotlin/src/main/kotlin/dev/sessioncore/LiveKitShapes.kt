// LiveKit Android's shapes for what the seed snippet shows (`agent.agentState`, `ReceivedMessage`
// with `message`, `SessionOptions(agentConnectTimeout = …, tokenRequestOptions = …)`), mapped
// mechanically from the generated records. No rule is decided here: every value comes from Rust.
@file:JvmName("LiveKitShapes")

package dev.sessioncore

import dev.sessioncore.bindings.Agent
import dev.sessioncore.bindings.MessageKind
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/**
 * What the agent is doing, with LiveKit Android's values (`io.livekit.android.room.types.AgentState`).
 *
 * The Rust core never produces [PRECONNECT_BUFFERING] (it has no pre-connect audio buffer) nor
 * [UNKNOWN] (it has no unparsed agent state to report): they exist so that `when` expressions
 * written against LiveKit Android compile unchanged. Behaviour is the core's: where LiveKit
 * Android reports a mid-session agent leave as [DISCONNECTED], the core reports [FAILED] (with
 * [Agent.failure] `LEFT`).
 */
enum class AgentState {
    DISCONNECTED,
    CONNECTING,
    PRECONNECT_BUFFERING,
    INITIALIZING,
    IDLE,
    LISTENING,
    THINKING,
    SPEAKING,
    FAILED,
    UNKNOWN,
}

/** The agent's state under LiveKit Android's name and enum ([Agent.state] mapped one to one). */
val Agent.agentState: AgentState
    get() =
        when (state) {
            dev.sessioncore.bindings.AgentState.DISCONNECTED -> AgentState.DISCONNECTED
            dev.sessioncore.bindings.AgentState.CONNECTING -> AgentState.CONNECTING
            dev.sessioncore.bindings.AgentState.INITIALIZING -> AgentState.INITIALIZING
            dev.sessioncore.bindings.AgentState.IDLE -> AgentState.IDLE
            dev.sessioncore.bindings.AgentState.LISTENING -> AgentState.LISTENING
            dev.sessioncore.bindings.AgentState.THINKING -> AgentState.THINKING
            dev.sessioncore.bindings.AgentState.SPEAKING -> AgentState.SPEAKING
            dev.sessioncore.bindings.AgentState.FAILED -> AgentState.FAILED
        }

/**
 * One message of the conversation in LiveKit Android's shape (`io.livekit.android.compose.types.ReceivedMessage`):
 * a chat message, a user transcription or an agent transcription, each with [message]. [record]
 * is the generated record it comes from (with `isFinal`, the sender's identity and the exact kind).
 */
sealed class ReceivedMessage {
    /** Segment ID (transcriptions) or stream ID (chat). */
    abstract val id: String

    /** The text so far. */
    abstract val message: String

    /** When this device first saw it, in milliseconds since the epoch. */
    abstract val timestamp: Long

    /** The sender's identity. */
    abstract val fromParticipant: String?

    /** The record this message maps. */
    abstract val record: dev.sessioncore.bindings.ReceivedMessage
}

/** Chat, sent by this session ([MessageKind.SENT_CHAT]) or received ([MessageKind.RECEIVED_CHAT]). */
data class ReceivedChatMessage(override val record: dev.sessioncore.bindings.ReceivedMessage) : ReceivedMessage() {
    override val id: String get() = record.id
    override val message: String get() = record.text
    override val timestamp: Long get() = record.timestamp.toEpochMilli()
    override val fromParticipant: String? get() = record.senderIdentity
}

/** The user's speech, transcribed ([MessageKind.USER_TRANSCRIPT]). */
data class ReceivedUserTranscriptionMessage(override val record: dev.sessioncore.bindings.ReceivedMessage) :
    ReceivedMessage() {
    override val id: String get() = record.id
    override val message: String get() = record.text
    override val timestamp: Long get() = record.timestamp.toEpochMilli()
    override val fromParticipant: String? get() = record.senderIdentity
}

/** The agent's speech, transcribed ([MessageKind.AGENT_TRANSCRIPT]). */
data class ReceivedAgentTranscriptionMessage(override val record: dev.sessioncore.bindings.ReceivedMessage) :
    ReceivedMessage() {
    override val id: String get() = record.id
    override val message: String get() = record.text
    override val timestamp: Long get() = record.timestamp.toEpochMilli()
    override val fromParticipant: String? get() = record.senderIdentity
}

/** This record in LiveKit Android's shape, by its kind. */
fun dev.sessioncore.bindings.ReceivedMessage.toReceivedMessage(): ReceivedMessage =
    when (kind) {
        MessageKind.SENT_CHAT, MessageKind.RECEIVED_CHAT -> ReceivedChatMessage(this)
        MessageKind.USER_TRANSCRIPT -> ReceivedUserTranscriptionMessage(this)
        MessageKind.AGENT_TRANSCRIPT -> ReceivedAgentTranscriptionMessage(this)
    }

/** The record's text under LiveKit Android's name. */
val dev.sessioncore.bindings.ReceivedMessage.message: String get() = text

/**
 * A session's options in LiveKit Android's shape (`SessionOptions(agentConnectTimeout = 20.seconds,
 * tokenRequestOptions = …)`). [microphoneEnabled] is ours. [toRecord] gives the generated record.
 */
data class SessionOptions(
    val agentConnectTimeout: Duration = 20.seconds,
    val tokenRequestOptions: TokenRequestOptions = TokenRequestOptions(),
    val microphoneEnabled: Boolean = true,
) {
    init {
        require(!agentConnectTimeout.isNegative()) { "agentConnectTimeout must not be negative: $agentConnectTimeout" }
    }

    /** The generated record (the timeout in whole milliseconds). */
    fun toRecord(): dev.sessioncore.bindings.SessionOptions =
        dev.sessioncore.bindings.SessionOptions(
            agentConnectTimeoutMs = agentConnectTimeout.inWholeMilliseconds.toULong(),
            microphoneEnabled = microphoneEnabled,
        )
}
