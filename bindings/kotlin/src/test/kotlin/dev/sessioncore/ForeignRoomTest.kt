package dev.sessioncore

import dev.sessioncore.bindings.AgentState
import dev.sessioncore.bindings.ConnectionState
import dev.sessioncore.bindings.DisconnectReason
import dev.sessioncore.bindings.ForeignRoom
import dev.sessioncore.bindings.ForeignRoomLink
import dev.sessioncore.bindings.MessageKind
import dev.sessioncore.bindings.ParticipantFact
import dev.sessioncore.bindings.RoomException
import dev.sessioncore.bindings.RoomFact
import dev.sessioncore.bindings.RoomFactSink
import dev.sessioncore.bindings.RoomLink
import dev.sessioncore.bindings.SessionException
import dev.sessioncore.bindings.SessionOptions
import dev.sessioncore.bindings.TrackFact
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.Test
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.MutableStateFlow

private const val ROOM_URL = "wss://kotlin-room.invalid"
private const val ROOM_TOKEN = "kotlin-room-secret-token"
private const val AGENT = "agent-1"

/**
 * A room implemented in Kotlin, as an app forwarding LiveKit's Android SDK would: it reports
 * what the room says as facts with LiveKit's protocol names, and records what the session asks.
 */
private class FakeRoom(
    private val failWith: String? = null,
    /** When set, `connect` waits for it before joining. */
    private val joinGate: CompletableDeferred<Unit>? = null,
) : ForeignRoom {
    @Volatile var sink: RoomFactSink? = null
    val connects = CopyOnWriteArrayList<Pair<String, String>>()
    val sent = CopyOnWriteArrayList<Pair<String, String>>()
    val microphone = CopyOnWriteArrayList<Boolean>()
    val disconnects = AtomicInteger()
    /** How many `connect`s were called, as a flow to wait on. */
    val connectCalls = MutableStateFlow(0)
    /** How many `disconnect`s so far, as a flow to wait on. */
    val left = MutableStateFlow(0)

    override suspend fun connect(url: String, token: String, sink: RoomFactSink): RoomLink {
        connects += url to token
        connectCalls.value = connects.size
        joinGate?.await()
        failWith?.let { throw RoomException.Failed(it) }
        this.sink = sink
        val agent =
            ParticipantFact(
                identity = AGENT,
                name = "Kotlin Agent",
                kind = "AGENT",
                attributes = mapOf("lk.agent.state" to "initializing"),
                tracks = listOf(TrackFact(sid = "TR_agent_mic", source = "MICROPHONE", kind = "AUDIO", subscribed = true)),
            )
        sink.push(RoomFact.Connected(localIdentity = "user", roomName = "kotlin-room", participants = listOf(agent)))
        return RoomLink(Link())
    }

    fun push(fact: RoomFact): Boolean = checkNotNull(sink) { "not connected" }.push(fact)

    /** A text stream from [sender]: opened, one fact per chunk, closed. */
    fun stream(topic: String, id: String, chunks: List<String>, attributes: Map<String, String>, sender: String = AGENT) {
        push(RoomFact.StreamOpened(id, topic, sender, sender, attributes))
        chunks.forEach { push(RoomFact.StreamChunk(id, it)) }
        val final = if (topic == "lk.transcription") attributes + ("lk.transcription_final" to "true") else attributes
        push(RoomFact.StreamClosed(id, final, null))
    }

    inner class Link : ForeignRoomLink {
        override suspend fun sendText(topic: String, text: String): String {
            sent += topic to text
            return "chat-${sent.size}"
        }

        override suspend fun setMicrophoneEnabled(enabled: Boolean) {
            microphone += enabled
        }

        override suspend fun disconnect() {
            disconnects.incrementAndGet()
            left.value = disconnects.get()
        }
    }
}

class ForeignRoomTest : FfiTest() {
    private val literal = TokenSource.fromLiteral(ROOM_URL, ROOM_TOKEN)

    @Test
    fun aSessionRunsEndToEndThroughAKotlinRoom() = test {
        val room = FakeRoom()
        Session.withRoom(literal, room).use { session ->
            assertTrue(session.start().isSuccess)
            assertEquals(listOf(ROOM_URL to ROOM_TOKEN), room.connects.toList())
            assertEquals("kotlin-room", session.roomName())
            val joined = session.agent.await("the agent") { it.identity == AGENT }
            assertEquals(AgentState.INITIALIZING, joined.state)
            assertEquals("Kotlin Agent", joined.name)
            assertEquals(listOf(true), room.microphone.toList())

            assertTrue(room.push(RoomFact.AttributesChanged(AGENT, mapOf("lk.agent.state" to "listening"), mapOf("lk.agent.state" to "listening"))))
            val listening = session.agent.await("agent listening") { it.state == AgentState.LISTENING }
            assertTrue(listening.canListen)

            room.stream("lk.transcription", "TS_1", listOf("Hello", " from", " Kotlin"), mapOf("lk.segment_id" to "SG_1"))
            val transcript = session.messages.await("the final transcript") { it.singleOrNull()?.isFinal == true }.single()
            assertEquals("Hello from Kotlin", transcript.text)
            assertEquals(MessageKind.AGENT_TRANSCRIPT, transcript.kind)
            assertEquals("SG_1", transcript.id)

            val sent = session.send("Ping").getOrThrow()
            assertEquals(MessageKind.SENT_CHAT, sent.kind)
            assertEquals("chat-1", sent.id)
            assertEquals(listOf("lk.chat" to "Ping"), room.sent.toList())
            session.messages.await("the sent message") { it.size == 2 }
            room.stream("lk.chat", "CH_echo", listOf("Pong"), emptyMap())
            val messages = session.messages.await("the final echo") { it.size == 3 && it[2].isFinal }
            assertEquals(listOf("Hello from Kotlin", "Ping", "Pong"), messages.map { it.text })
            assertEquals(MessageKind.RECEIVED_CHAT, messages[2].kind)

            session.endAndWait()
            session.connectionState.await("disconnected") { it == ConnectionState.DISCONNECTED }
            assertEquals(1, room.disconnects.get(), "the room was left once")
            assertIs<DisconnectReason.ClientInitiated>(session.disconnectReason.await("the reason") { it != null })
            assertFalse(room.push(RoomFact.Reconnecting), "the sink is closed after end")
            assertEquals(messages, session.messages.value, "end keeps the messages")
            assertNull(session.error.value)
        }
    }

    @Test
    fun aReconnectAndTheAgentHangingUpArrivePerTheirFacts() = test {
        val room = FakeRoom()
        Session.withRoom(literal, room, options = SessionOptions(microphoneEnabled = false)).use { session ->
            assertTrue(session.start().isSuccess)
            assertEquals(emptyList(), room.microphone.toList(), "the microphone stays off")
            room.push(RoomFact.Reconnecting)
            session.connectionState.await("reconnecting") { it == ConnectionState.RECONNECTING }
            assertTrue(session.isConnected.value)
            room.push(RoomFact.Reconnected)
            session.connectionState.await("connected again") { it == ConnectionState.CONNECTED }
            room.push(RoomFact.Disconnected("ROOM_DELETED"))
            assertIs<DisconnectReason.RoomDeleted>(session.disconnectReason.await("the reason") { it != null })
            session.connectionState.await("disconnected") { it == ConnectionState.DISCONNECTED }
            assertNull(session.error.value, "the agent hanging up is no error")
        }
    }

    @Test
    fun theRoomsConnectErrorIsAConnectionErrorWithoutTheToken() = test {
        val room = FakeRoom(failWith = "no route to kotlin-room")
        Session.withRoom(literal, room).use { session ->
            val error = session.start().exceptionOrNull()
            assertContains(assertIs<SessionException.Connection>(error).reason, "no route to kotlin-room")
            assertFalse(error.toString().contains(ROOM_TOKEN))
            // The flows follow asynchronously: wait for the value.
            session.connectionState.await("disconnected") { it == ConnectionState.DISCONNECTED }
        }
    }

    @Test
    fun aConnectThatCompletesAfterEndIsLeftAtOnce() = test {
        val gate = CompletableDeferred<Unit>()
        val room = FakeRoom(joinGate = gate)
        Session.withRoom(literal, room).use { session ->
            val starting = async { session.start() }
            session.connectionState.await("connecting") { it == ConnectionState.CONNECTING }
            room.connectCalls.await("the room's connect") { it == 1 }
            session.endAndWait()
            assertIs<SessionException.Cancelled>(starting.await().exceptionOrNull())
            assertEquals(0, room.disconnects.get(), "nothing joined yet")

            gate.complete(Unit)
            room.left.await("the late room left") { it == 1 }
            session.connectionState.await("disconnected") { it == ConnectionState.DISCONNECTED }
            assertTrue(session.messages.value.isEmpty())
        }
    }
}
