package dev.sessioncore

import dev.sessioncore.bindings.AgentSession
import dev.sessioncore.bindings.AgentState
import dev.sessioncore.bindings.ConnectionState
import dev.sessioncore.bindings.Script
import dev.sessioncore.bindings.SessionEvent
import dev.sessioncore.bindings.SessionListener
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNotSame
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlin.test.fail

/** Records session events with the thread each arrived on. */
class RecordingListener : SessionListener {
    val events = LinkedBlockingQueue<Pair<SessionEvent, Thread>>()

    override fun onEvent(event: SessionEvent) {
        events.add(event to Thread.currentThread())
    }

    fun next(): Pair<SessionEvent, Thread> =
        events.poll(WAIT.inWholeMilliseconds, TimeUnit.MILLISECONDS) ?: fail("no session event arrived")

    /** Skips events until one matches [predicate]; returns everything taken, in order. */
    fun takeUntil(predicate: (SessionEvent) -> Boolean): List<SessionEvent> {
        val taken = mutableListOf<SessionEvent>()
        while (true) {
            val event = next().first
            taken += event
            if (predicate(event)) return taken
        }
    }
}

/** The generated `AgentSession` and `SessionListener` directly, without the wrapper. */
class SessionListenerTest : FfiTest() {
    private val literal = TokenSource.fromLiteral("wss://scripted.invalid", "token")

    @Test
    fun connectedMeansConnectedOrReconnecting() {
        assertEquals(
            listOf(ConnectionState.CONNECTED, ConnectionState.RECONNECTING),
            ConnectionState.entries.filter { it.isConnected() },
        )
    }

    @Test
    fun aListenerThatThrowsKeepsGettingLaterEvents() = test {
        val script = Script().agentJoins("agent-1").agentState("listening")
        AgentSession.scripted(literal.native, script).use { session ->
            val received = RecordingListener()
            val throwing = object : SessionListener {
                override fun onEvent(event: SessionEvent) {
                    received.onEvent(event)
                    throw IllegalStateException("a bug in the app's listener")
                }
            }
            val handle = session.observe(throwing)
            session.start()
            // Every event still arrives, although each call threw.
            received.takeUntil { it is SessionEvent.AgentChanged && it.agent.state == AgentState.LISTENING }
            handle.cancel()
        }
    }

    @Test
    fun listenersGetTheSnapshotThenEveryChangeInOrderOnRustThreads() = test {
        val script = Script().agentJoins("agent-1").agentState("idle").agentState("listening")
        AgentSession.scripted(literal.native, script).use { session ->
            assertEquals(ConnectionState.DISCONNECTED, session.connectionState())
            assertFalse(session.isConnected())
            assertEquals(AgentState.DISCONNECTED, session.agent().state)
            assertNull(session.error())
            assertEquals(emptyList(), session.messages())

            val listener = RecordingListener()
            val handle = session.observe(listener)
            val testThread = Thread.currentThread()
            val snapshot = List(4) { listener.next() }
            for ((event, thread) in snapshot) assertNotSame(testThread, thread, "$event must arrive on a Rust thread")
            assertEquals(SessionEvent.ConnectionStateChanged(ConnectionState.DISCONNECTED), snapshot[0].first)
            assertEquals(AgentState.DISCONNECTED, assertIs<SessionEvent.AgentChanged>(snapshot[1].first).agent.state)
            assertEquals(SessionEvent.ErrorChanged(null), snapshot[2].first)
            assertEquals(SessionEvent.MessagesReset(emptyList()), snapshot[3].first)

            session.start()
            val untilListening = listener.takeUntil { it is SessionEvent.AgentChanged && it.agent.state == AgentState.LISTENING }
            val states = untilListening.filterIsInstance<SessionEvent.ConnectionStateChanged>().map { it.state }
            assertEquals(listOf(ConnectionState.CONNECTING, ConnectionState.CONNECTED), states)
            // Connecting, then the agent joins (initializing), goes idle, then listens.
            val agentStates = untilListening.filterIsInstance<SessionEvent.AgentChanged>().map { it.agent.state }
            assertEquals(
                listOf(AgentState.CONNECTING, AgentState.INITIALIZING, AgentState.IDLE, AgentState.LISTENING),
                agentStates.distinct(),
            )
            assertTrue(session.isConnected())
            assertEquals(ConnectionState.CONNECTED, session.connectionState())
            assertEquals("agent-1", session.agent().identity)

            session.end()
            val ending = listener.takeUntil { it == SessionEvent.ConnectionStateChanged(ConnectionState.DISCONNECTED) }
                .filterIsInstance<SessionEvent.ConnectionStateChanged>()
                .map { it.state }
            assertEquals(listOf(ConnectionState.DISCONNECTING, ConnectionState.DISCONNECTED), ending)
            assertFalse(session.isConnected())
            handle.cancel()
            assertTrue(handle.isCancelled())
            handle.close()
        }
    }

    @Test
    fun cancellingTheTaskHandleStopsSessionEvents() = test {
        AgentSession.scripted(literal.native, Script().agentJoins("agent-1").agentState("listening")).use { session ->
            val stopped = RecordingListener()
            val running = RecordingListener()
            val stoppedHandle = session.observe(stopped)
            val runningHandle = session.observe(running)
            repeat(4) { stopped.next() } // the snapshot
            repeat(4) { running.next() }
            stoppedHandle.cancel()
            assertTrue(stoppedHandle.isCancelled())

            session.start()
            running.takeUntil { it is SessionEvent.AgentChanged && it.agent.state == AgentState.LISTENING }
            session.end()
            val last = SessionEvent.ConnectionStateChanged(ConnectionState.DISCONNECTED)
            running.takeUntil { it == last }
            // cancel() aborts the listener's Rust task; if that task is being polled at that
            // moment it may still deliver events already queued in the same poll (tokio's abort
            // is asynchronous for a running task). A whole start-to-end run later, it must have
            // stopped: it never sees the end of the session.
            val probe = RecordingListener()
            session.observe(probe).use { repeat(4) { probe.next() } }
            val late = stopped.events.map { it.first }
            assertFalse(last in late, "a cancelled listener saw the session end: $late")
            assertTrue(late.size < 4, "a cancelled listener kept receiving events: $late")
            runningHandle.cancel()
        }
    }
}
