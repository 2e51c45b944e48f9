package dev.sessioncore

import dev.sessioncore.bindings.AgentFailure
import dev.sessioncore.bindings.ConnectionState
import dev.sessioncore.bindings.MessageKind
import dev.sessioncore.bindings.Script
import dev.sessioncore.bindings.SessionException
import java.io.IOException
import java.time.Instant
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

private const val URL = "wss://scripted.invalid"

/** LiveKit Android's shapes over the generated records, and the Session's LiveKit-shaped calls. */
class LiveKitShapesTest : FfiTest() {
    private val literal = TokenSource.fromLiteral(URL, Jwt.expiringIn(3600))

    private fun agent(state: dev.sessioncore.bindings.AgentState) =
        Session.scripted(literal, Script()).use { it.agent.value }.copy(state = state)

    @Test
    fun agentStateHasLiveKitsValuesAndMapsEveryCoreState() {
        assertEquals(
            listOf(
                "DISCONNECTED", "CONNECTING", "PRECONNECT_BUFFERING", "INITIALIZING", "IDLE", "LISTENING",
                "THINKING", "SPEAKING", "FAILED", "UNKNOWN",
            ),
            AgentState.entries.map { it.name },
        )
        for (state in dev.sessioncore.bindings.AgentState.entries) {
            assertEquals(state.name, agent(state).agentState.name)
        }
    }

    @Test
    fun messagesMapToLiveKitsSubclassesByKind() {
        val at = Instant.ofEpochMilli(1_700_000_000_123)
        fun record(kind: MessageKind) =
            dev.sessioncore.bindings.ReceivedMessage("id-$kind", at, kind, "someone", "text of $kind", true)
        val mapped = MessageKind.entries.associateWith { record(it).toReceivedMessage() }
        assertIs<ReceivedChatMessage>(mapped.getValue(MessageKind.SENT_CHAT))
        assertIs<ReceivedChatMessage>(mapped.getValue(MessageKind.RECEIVED_CHAT))
        assertIs<ReceivedUserTranscriptionMessage>(mapped.getValue(MessageKind.USER_TRANSCRIPT))
        assertIs<ReceivedAgentTranscriptionMessage>(mapped.getValue(MessageKind.AGENT_TRANSCRIPT))
        for ((kind, message) in mapped) {
            assertEquals("text of $kind", message.message)
            assertEquals("id-$kind", message.id)
            assertEquals(1_700_000_000_123, message.timestamp)
            assertEquals("someone", message.fromParticipant)
            assertEquals(record(kind), message.record)
            assertEquals("text of $kind", record(kind).message)
        }
    }

    @Test
    fun sessionOptionsConvertToTheRecord() {
        assertEquals(dev.sessioncore.bindings.SessionOptions(), SessionOptions().toRecord())
        val options = SessionOptions(agentConnectTimeout = 1500.milliseconds, tokenRequestOptions = TokenRequestOptions(roomName = "r"))
        assertEquals(1500uL, options.toRecord().agentConnectTimeoutMs)
        assertEquals("r", options.tokenRequestOptions.roomName)
        assertEquals(5000uL, SessionOptions(agentConnectTimeout = 5.seconds, microphoneEnabled = false).toRecord().agentConnectTimeoutMs)
        assertEquals(false, SessionOptions(microphoneEnabled = false).toRecord().microphoneEnabled)
        assertFailsWith<IllegalArgumentException> { SessionOptions(agentConnectTimeout = (-1).seconds) }
    }

    @Test
    fun agentFailuresReadAsSentences() {
        assertEquals("the agent did not become available within the timeout", AgentFailure.TIMEOUT.toString())
        assertEquals("the agent left the room", AgentFailure.LEFT.toString())
    }

    @Test
    fun endIsCallableOutsideACoroutine() = test {
        Session.scripted(literal, Script().agentJoins("agent-1", "Assistant").agentState("listening")).use { session ->
            assertTrue(session.start().isSuccess)
            // From a plain thread, like a click handler: no coroutine, no suspension.
            val caller = Thread { session.end() }
            caller.start()
            caller.join()
            session.connectionState.await("disconnected after end()") { it == ConnectionState.DISCONNECTED }
            assertEquals(dev.sessioncore.bindings.AgentState.DISCONNECTED, session.agent.await("the agent") {
                it.state == dev.sessioncore.bindings.AgentState.DISCONNECTED
            }.state)
            // The Job it returns completes once disconnected.
            assertTrue(session.start().isSuccess)
            session.end().join()
            assertEquals(ConnectionState.DISCONNECTED, session.connectionState.value)
        }
        val closed = Session.scripted(literal, Script())
        closed.close()
        assertFailsWith<IllegalStateException> { closed.end() }
    }

    @Test
    fun afterAFailedStartTheFlowsAlreadyShowTheFailure() = test {
        val failing = TokenSource.fromCustom { throw IOException("the token service is unreachable") }
        repeat(20) { run ->
            Session.scripted(failing, Script().agentJoins("agent-1", "Assistant")).use { session ->
                val result = session.start()
                assertIs<SessionException.Connection>(result.exceptionOrNull(), "run $run")
                // Read once, no waiting: start() resynced the flows before returning.
                assertEquals(ConnectionState.DISCONNECTED, session.connectionState.value, "run $run")
                assertEquals(false, session.isConnected.value, "run $run")
                assertEquals(dev.sessioncore.bindings.AgentState.DISCONNECTED, session.agent.value.state, "run $run")
                assertEquals(AgentState.DISCONNECTED, session.agent.value.agentState, "run $run")
                assertNotNull(session.error.value, "run $run")
            }
        }
    }
}
