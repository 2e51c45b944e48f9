package dev.sessioncore

import dev.sessioncore.bindings.AgentFailure
import dev.sessioncore.bindings.AgentState
import dev.sessioncore.bindings.ChatResponder
import dev.sessioncore.bindings.ConnectionState
import dev.sessioncore.bindings.DisconnectReason
import dev.sessioncore.bindings.MessageKind
import dev.sessioncore.bindings.ReceivedMessage
import dev.sessioncore.bindings.Script
import dev.sessioncore.bindings.SessionEvent
import dev.sessioncore.bindings.SessionException
import dev.sessioncore.bindings.SessionOptions
import dev.sessioncore.bindings.TokenSourceException
import java.time.Instant
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import kotlin.test.Test
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNotSame
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout

private const val URL = "wss://scripted.invalid"

/** The `Session` wrapper over scripted rooms. */
class SessionTest : FfiTest() {
    private val literal = TokenSource.fromLiteral(URL, Jwt.expiringIn(3600))

    /** A responder that records what the user sent and the thread it was called on. */
    private class Responder(private val answer: (String) -> Script) : ChatResponder {
        val received = CopyOnWriteArrayList<Pair<String, Thread>>()

        override fun reply(text: String): Script {
            received += text to Thread.currentThread()
            return answer(text)
        }
    }

    @Test
    fun aWholeScriptedConversation() = test {
        val greeting = "Hello there, how can I help?"
        val responder = Responder { text -> Script().agentSays("You said $text") }
        val script = Script()
            .withWordIntervalMs(5uL)
            .agentJoins("agent-1", "Assistant")
            .agentState("listening")
            .agentSays(greeting)
            .onChat(responder)
        Session.scripted(literal, script).use { session ->
            assertEquals(ConnectionState.DISCONNECTED, session.connectionState.value)
            assertFalse(session.isConnected.value)
            assertEquals(AgentState.DISCONNECTED, session.agent.value.state)
            assertEquals(emptyList(), session.messages.value)
            assertNull(session.error.value)

            // Every change, unbounded, from before start: the transcript's streaming is visible.
            val events = Channel<SessionEvent>(Channel.UNLIMITED)
            val collecting = launch(Dispatchers.Unconfined, start = CoroutineStart.UNDISPATCHED) {
                session.events.collect { events.send(it) }
            }

            assertTrue(session.start().isSuccess)
            session.connectionState.await("connected") { it == ConnectionState.CONNECTED }
            session.isConnected.await("isConnected") { it }
            val agent = session.agent.await("a listening agent") { it.state == AgentState.LISTENING }
            assertEquals("agent-1", agent.identity)
            assertEquals("Assistant", agent.name)
            assertEquals("listening", agent.attributes["lk.agent.state"])
            assertTrue(agent.isConnected)
            assertTrue(agent.canListen)
            assertFalse(agent.isPending)
            assertFalse(agent.isFinished)
            assertNull(agent.failure)

            val transcript = session.messages.await("the agent's transcript") { messages ->
                messages.any { it.kind == MessageKind.AGENT_TRANSCRIPT && it.isFinal }
            }.single()
            assertEquals(greeting, transcript.text)
            assertEquals("agent-1", transcript.senderIdentity)

            // The transcript streamed word by word: an add, then growing prefixes, then final.
            val texts = mutableListOf<String>()
            withTimeout(WAIT) {
                while (true) {
                    when (val event = events.receive()) {
                        is SessionEvent.MessageInserted -> texts += event.message.text
                        is SessionEvent.MessageReplaced -> {
                            texts += event.message.text
                            if (event.message.isFinal) break
                        }
                        else -> Unit
                    }
                }
            }
            assertEquals("", texts.first())
            assertEquals(greeting, texts.last())
            assertTrue(texts.size >= greeting.split(' ').size, "one update per word at least: $texts")
            texts.zipWithNext().forEach { (before, after) -> assertTrue(after.startsWith(before), "$before -> $after") }

            val sent = session.send("hi").getOrThrow()
            assertEquals(MessageKind.SENT_CHAT, sent.kind)
            assertEquals("hi", sent.text)
            assertEquals("user", sent.senderIdentity)
            assertTrue(sent.isFinal)
            val reply = session.messages.await("the agent's reply") { messages ->
                messages.any { it.text == "You said hi" && it.isFinal }
            }
            assertEquals(3, reply.size)
            assertEquals(transcript, reply[0])
            assertTrue(sent in reply, "the sent message is in the messages as returned")
            assertEquals(listOf("hi"), responder.received.map { it.first })
            assertNotSame(Thread.currentThread(), responder.received.single().second)

            session.endAndWait()
            session.connectionState.await("disconnected") { it == ConnectionState.DISCONNECTED }
            session.isConnected.await("not isConnected") { !it }
            session.agent.await("agent disconnected") { it.state == AgentState.DISCONNECTED }
            assertEquals(reply, session.messages.value, "end keeps the messages")
            assertIs<DisconnectReason.ClientInitiated>(session.disconnectReason.await("the reason") { it != null })
            assertNull(session.error.value)
            collecting.cancel()
        }
    }

    @Test
    fun aDispatchedAgentThatNeverComesTimesOut() = test {
        val dispatching = TokenSource.fromLiteral(URL, Jwt.dispatching("my-agent"))
        val options = SessionOptions(agentConnectTimeoutMs = 200uL)
        Session.scripted(dispatching, Script(), options = options).use { session ->
            assertTrue(session.start().isSuccess)
            val failed = session.agent.await("the agent timeout") { it.state == AgentState.FAILED }
            assertEquals(AgentFailure.TIMEOUT, failed.failure)
            assertTrue(failed.isFinished)
            assertTrue(session.isConnected.value, "the session stays connected")
            session.endAndWait()
        }
    }

    @Test
    fun scriptStepsDriveTheAgentAndMessages() = test {
        val script = Script()
            .withWordIntervalMs(2uL)
            .withAgentInRoom("agent-0", name = "Greeter", state = "speaking")
            .waitMs(1uL)
            .agentTurn("Sure thing")
            .userSays("I need help")
            .reconnect()
            .agentLeaves()
        Session.scripted(literal, script).use { session ->
            val events = Channel<SessionEvent>(Channel.UNLIMITED)
            val collecting = launch(Dispatchers.Unconfined, start = CoroutineStart.UNDISPATCHED) {
                session.events.collect { events.send(it) }
            }
            assertTrue(session.start().isSuccess)
            val agentStates = mutableListOf<AgentState>()
            val connectionStates = mutableListOf<ConnectionState>()
            withTimeout(WAIT) {
                while (true) {
                    when (val event = events.receive()) {
                        is SessionEvent.AgentChanged -> {
                            agentStates += event.agent.state
                            if (event.agent.state == AgentState.SPEAKING) assertEquals("Greeter", event.agent.name)
                            if (event.agent.state == AgentState.FAILED) {
                                assertEquals(AgentFailure.LEFT, event.agent.failure)
                                break
                            }
                        }
                        is SessionEvent.ConnectionStateChanged -> connectionStates += event.state
                        else -> Unit
                    }
                }
            }
            // Connecting, in the room at join (speaking), then agentTurn: thinking, speaking,
            // listening; during the reconnect the agent is gone (connecting), then it comes back.
            assertContainsInOrder(agentStates, AgentState.CONNECTING, AgentState.SPEAKING, AgentState.THINKING, AgentState.SPEAKING, AgentState.LISTENING, AgentState.CONNECTING, AgentState.LISTENING, AgentState.FAILED)
            assertContainsInOrder(connectionStates, ConnectionState.CONNECTING, ConnectionState.CONNECTED, ConnectionState.RECONNECTING, ConnectionState.CONNECTED)
            // The state flows have their own listener: wait for it to catch up with this one.
            val messages = session.messages.await("both transcripts") { list -> list.size == 2 && list.all { it.isFinal } }
            assertEquals(listOf(MessageKind.AGENT_TRANSCRIPT, MessageKind.USER_TRANSCRIPT), messages.map { it.kind })
            assertEquals(listOf("Sure thing", "I need help"), messages.map { it.text })
            assertEquals("user", messages[1].senderIdentity)
            assertTrue(messages.all { it.isFinal })
            collecting.cancel()
            session.endAndWait()
        }
    }

    @Test
    fun theAgentDeletingTheRoomIsANormalEnd() = test {
        Session.scripted(literal, Script().agentJoins("agent-1").serverDisconnects()).use { session ->
            assertTrue(session.start().isSuccess)
            val reason = session.disconnectReason.await("the reason") { it != null }
            assertIs<DisconnectReason.RoomDeleted>(reason)
            assertTrue(reason.isNormalEnd())
            assertEquals("the room was closed", reason.toString())
            session.connectionState.await("disconnected") { it == ConnectionState.DISCONNECTED }
            assertNull(session.error.value)
        }
    }

    @Test
    fun theServerRemovingTheParticipantIsAConnectionError() = test {
        Session.scripted(literal, Script().agentJoins("agent-1").serverDisconnects("PARTICIPANT_REMOVED")).use { session ->
            assertTrue(session.start().isSuccess)
            val error = session.error.await("the disconnect error") { it != null }
            assertContains(assertIs<SessionException.Connection>(error).reason, "you were removed from the room")
            assertNull(error.tokenSource)
            assertIs<DisconnectReason.ParticipantRemoved>(session.disconnectReason.await("the reason") { it != null })
            session.connectionState.await("disconnected") { it == ConnectionState.DISCONNECTED }
            session.dismissError()
            session.error.await("the error cleared") { it == null }
        }
    }

    @Test
    fun anUnavailableMicrophoneIsAMediaErrorAndTheSessionStaysConnected() = test {
        Session.scripted(literal, Script().withMicrophoneUnavailable("no permission")).use { session ->
            assertTrue(session.start().isSuccess)
            val error = session.error.await("the media error") { it != null }
            assertContains(assertIs<SessionException.Media>(error).reason, "no permission")
            assertTrue(session.isConnected.value)
        }
    }

    @Test
    fun aFailedStreamIsAReceiverErrorAndItsTextIsKept() = test {
        val script = Script().agentJoins("agent-1").agentStreamFails("cut off", "stream reset")
        Session.scripted(literal, script).use { session ->
            assertTrue(session.start().isSuccess)
            val error = session.error.await("the receiver error") { it != null }
            assertEquals("stream reset", assertIs<SessionException.Receiver>(error).reason)
            session.messages.await("the partial message") { it.singleOrNull()?.text == "cut off" }
        }
    }

    @Test
    fun startFailsWithTheTokenSourcesTypedError() = test {
        val failing = TokenSource.fromCustom { Result.failure(TokenSourceException.Http(401u, "who are you")) }
        Session.scripted(failing, Script()).use { session ->
            val error = assertIs<SessionException.Connection>(session.start().exceptionOrNull())
            val cause = assertIs<TokenSourceException.Http>(error.tokenSource)
            assertEquals(401.toUShort(), cause.status)
            assertEquals("who are you", cause.reason)
            assertIs<SessionException.Connection>(session.error.await("the session error") { it != null })
            session.connectionState.await("disconnected") { it == ConnectionState.DISCONNECTED }

            session.dismissError()
            session.error.await("the error cleared") { it == null }
        }
        val throwing = TokenSource.fromCustom { error("no network stack") }
        Session.scripted(throwing, Script()).use { session ->
            val error = assertIs<SessionException.Connection>(session.start().exceptionOrNull())
            assertEquals(
                "java.lang.IllegalStateException: no network stack",
                assertIs<TokenSourceException.Custom>(error.tokenSource).reason,
            )
        }
    }

    @Test
    fun callErrors() = test {
        Session.scripted(literal, Script().agentJoins("agent-1")).use { session ->
            val notConnected = assertIs<SessionException.Sender>(session.send("too early").exceptionOrNull())
            assertEquals("not connected", notConnected.reason)
            session.error.await("the send error") { it is SessionException.Sender }

            assertTrue(session.start().isSuccess)
            assertIs<SessionException.NotDisconnected>(session.start().exceptionOrNull())
            assertIs<SessionException.EmptyMessage>(session.send("").exceptionOrNull())
            assertIs<SessionException.EmptyMessage>(session.send("   ").exceptionOrNull())
            session.endAndWait()
        }
    }

    @Test
    fun endWhileStartingCancelsTheStart() = test {
        val entered = CountDownLatch(1)
        val release = CompletableDeferred<Unit>()
        val slow = TokenSource.fromCustom {
            entered.countDown()
            release.await()
            Result.success(TokenSourceResponse(URL, Jwt.expiringIn(3600)))
        }
        Session.scripted(slow, Script()).use { session ->
            val start = async(Dispatchers.Default) { session.start() }
            entered.awaitOrFail("the credentials fetch")
            session.connectionState.await("connecting") { it == ConnectionState.CONNECTING }
            session.endAndWait()
            release.complete(Unit)
            assertIs<SessionException.Cancelled>(start.await().exceptionOrNull())
            session.connectionState.await("disconnected") { it == ConnectionState.DISCONNECTED }
        }
    }

    @Test
    fun cancellingTheStartCoroutineDoesNotCancelConnecting() = test {
        val entered = CountDownLatch(1)
        val release = CompletableDeferred<Unit>()
        val slow = TokenSource.fromCustom {
            entered.countDown()
            release.await()
            Result.success(TokenSourceResponse(URL, Jwt.expiringIn(3600)))
        }
        Session.scripted(slow, Script()).use { session ->
            val start = launch(Dispatchers.Default) { session.start() }
            entered.awaitOrFail("the credentials fetch")
            start.cancelAndJoin() // stops waiting only: cancellation is explicit, with end()
            release.complete(Unit)
            session.connectionState.await("connected anyway") { it == ConnectionState.CONNECTED }
            session.endAndWait()
            session.connectionState.await("disconnected") { it == ConnectionState.DISCONNECTED }
        }
    }

    @Test
    fun restoreMessageHistoryReplacesTheMessages() = test {
        val history = listOf(
            ReceivedMessage("m1", Instant.parse("2026-01-01T10:00:00.123456789Z"), MessageKind.AGENT_TRANSCRIPT, "agent-1", "Hi", true),
            ReceivedMessage("m2", Instant.parse("2026-01-01T10:00:05Z"), MessageKind.SENT_CHAT, "user", "Hello", true),
            ReceivedMessage("m3", Instant.parse("2026-01-01T10:00:07Z"), MessageKind.RECEIVED_CHAT, "friend", "Hey", true),
            ReceivedMessage("m4", Instant.parse("2026-01-01T10:00:09Z"), MessageKind.USER_TRANSCRIPT, "user", "So", false),
        )
        Session.scripted(literal, Script()).use { session ->
            // Out of order on purpose: the restored history is ordered by timestamp.
            session.restoreMessageHistory(history.reversed())
            session.messages.await("the restored messages") { it == history }

            session.restoreMessageHistory(emptyList())
            session.messages.await("no messages") { it.isEmpty() }
        }
    }

    @Test
    fun constructorsPassTheRequestAndTheAgent() = test {
        val seen = CopyOnWriteArrayList<TokenRequestOptions>()
        val recording = TokenSource.fromCustom { options ->
            seen += options
            Result.success(TokenSourceResponse(URL, Jwt.expiringIn(3600)))
        }
        // Without a script the test flavour has no transport: start fails after the fetch.
        Session(recording, FULL_OPTIONS, SessionOptions(microphoneEnabled = false)).use { session ->
            val error = assertIs<SessionException.Connection>(session.start().exceptionOrNull())
            assertNull(error.tokenSource, "credentials were fetched; connecting failed")
            assertContains(error.reason, "no transport")
        }
        Session(recording).use { session -> assertTrue(session.start().isFailure) }
        Session.withAgent(recording, "my-agent", agentMetadata = "{\"mode\":\"test\"}").use { session ->
            assertTrue(session.start().isFailure)
        }
        Session.scripted(recording, Script(), request = TokenRequestOptions(roomName = "scripted")).use { session ->
            assertTrue(session.start().isSuccess)
            session.endAndWait()
        }
        assertEquals(FULL_OPTIONS, seen[0])
        assertEquals(TokenRequestOptions(), seen[1])
        assertEquals(TokenRequestOptions(agentName = "my-agent", agentMetadata = "{\"mode\":\"test\"}"), seen[2])
        assertEquals(TokenRequestOptions(roomName = "scripted"), seen[3])
    }

    @Test
    fun closeStopsObservationAndReleasesTheNativeSession() = test {
        val session = Session.scripted(literal, Script().agentJoins("agent-1"))
        val collected = async(Dispatchers.Unconfined, start = CoroutineStart.UNDISPATCHED) { session.events.toList() }
        assertTrue(session.start().isSuccess)
        session.connectionState.await("connected") { it == ConnectionState.CONNECTED }
        session.endAndWait()
        session.close()
        session.close() // idempotent
        val events = withTimeout(WAIT) { collected.await() } // the flow completed
        assertEquals(SessionEvent.ConnectionStateChanged(ConnectionState.DISCONNECTED), events.first())
        assertEquals(emptyList(), session.events.toList(), "a closed session's events are empty")
        assertFailsWith<IllegalStateException> { session.dismissError() }
        assertFailsWith<IllegalStateException> { session.start() }
        assertFalse(session.toString().contains("token"), session.toString())
    }

    private fun <T> assertContainsInOrder(actual: List<T>, vararg expected: T) {
        var from = 0
        for (item in expected) {
            val index = actual.subList(from, actual.size).indexOf(item)
            assertTrue(index >= 0, "expected $item after position $from in $actual (wanted ${expected.toList()})")
            from += index + 1
        }
    }
}
