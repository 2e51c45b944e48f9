package dev.sessioncore.compose

import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.SideEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import dev.sessioncore.FfiTest
import dev.sessioncore.Jwt
import dev.sessioncore.Session
import dev.sessioncore.TokenSource
import dev.sessioncore.bindings.AgentState
import dev.sessioncore.bindings.ChatResponder
import dev.sessioncore.bindings.MessageKind
import dev.sessioncore.bindings.Script
import dev.sessioncore.bindings.SessionException
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.Test
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNotSame
import kotlin.test.assertSame
import kotlin.test.assertTrue
import kotlinx.coroutines.flow.toList

/**
 * The Compose helpers in real compositions (the Compose runtime's Recomposer, see
 * [TestComposition]) over scripted sessions: the seed's flow, recomposition on every state
 * change, `send`, and the session's lifetime following the composition.
 */
class SessionComposablesTest : FfiTest() {
    private val literal = TokenSource.fromLiteral("wss://scripted.invalid", Jwt.expiringIn(3600))

    private fun conversation(): Script =
        Script()
            .withWordIntervalMs(1uL)
            .agentJoins("agent-1", "Assistant")
            .agentState("listening")
            .agentSays("Hi! How can I help?")
            .onChat(
                object : ChatResponder {
                    override fun reply(text: String): Script = Script().agentSays("You said $text")
                },
            )

    /** Closed: every call into the native session throws. */
    private suspend fun assertClosed(session: Session) {
        assertFailsWith<IllegalStateException> { session.start() }
        // Its event flow completes at once instead of waiting for changes.
        session.events.toList()
    }

    @Test
    fun theSeedsFlowRecomposesOnEveryChangeSendsAndClosesOnDispose() = test {
        TestComposition().use { ui ->
            val shouldConnect = mutableStateOf(false)
            val sessions = Seen<Session?>(null)
            val agentStates = Seen(AgentState.DISCONNECTED)
            val connected = Seen(false)
            val finalTexts = Seen(emptyList<String>())
            val messagesHolder = Seen<SessionMessages?>(null)
            val startResults = Seen<Result<Unit>?>(null)

            ui.setContent {
                val session = rememberSession { Session.scripted(literal, conversation()) }
                SessionScope(session = session) { session ->
                    // The seed's connect toggle.
                    val connect by shouldConnect
                    LaunchedEffect(connect) {
                        if (connect) startResults.publish(session.start()) else session.end()
                    }
                    val agent = rememberAgent()
                    val isConnected by session.isConnected.collectAsState()
                    val sessionMessages = rememberSessionMessages()
                    val seenFinal = sessionMessages.messages.filter { it.record.isFinal }.map { it.message }
                    SideEffect {
                        sessions.publish(session)
                        agentStates.publish(agent.state)
                        connected.publish(isConnected)
                        finalTexts.publish(seenFinal)
                        messagesHolder.publish(sessionMessages)
                    }
                }
            }
            val session = checkNotNull(sessions.value) { "the first composition ran" }
            assertEquals(AgentState.DISCONNECTED, agentStates.value)
            assertEquals(false, connected.value)
            val framesBefore = ui.frames

            // "Connect" clicked.
            ui.onUiThread { shouldConnect.value = true }
            assertTrue(startResults.await("start() returned") { it != null }!!.isSuccess)
            connected.await("the composable saw the session connected") { it }
            agentStates.await("the composable saw the agent listening") { it == AgentState.LISTENING }
            finalTexts.await("the composable saw the greeting") { it == listOf("Hi! How can I help?") }
            assertTrue(ui.frames > framesBefore, "recompositions ran on frames of the clock")
            assertEquals(listOf(false, true), connected.history.distinct())
            // Recomposed on each change, in order: the agent's states as the composable read them.
            val states = agentStates.history.distinct()
            assertEquals(AgentState.DISCONNECTED, states.first())
            assertTrue(AgentState.LISTENING in states && states.size >= 2, "$states")

            // "Send" clicked: the seed launches send from the UI's coroutine scope.
            val sessionMessages = checkNotNull(messagesHolder.value)
            val sent = ui.onUiThread { sessionMessages.send("hello") }.getOrThrow()
            assertEquals(MessageKind.SENT_CHAT, sent.record.kind)
            assertEquals("hello", sent.message)
            finalTexts.await("the sent message and the reply") {
                it == listOf("Hi! How can I help?", "hello", "You said hello")
            }
            assertIs<SessionException.EmptyMessage>(ui.onUiThread { sessionMessages.send("") }.exceptionOrNull())

            // "Disconnect" clicked: the LaunchedEffect ends the session; the messages stay.
            ui.onUiThread { shouldConnect.value = false }
            connected.await("the composable saw the session disconnected") { !it }
            agentStates.await("the agent disconnected") { it == AgentState.DISCONNECTED }
            assertEquals(listOf("Hi! How can I help?", "hello", "You said hello"), finalTexts.value)

            // Leaving the composition closes the session.
            ui.dispose()
            assertClosed(session)
        }
    }

    @Test
    fun aNewKeyReplacesTheSessionAndClosesTheOldOne() = test {
        TestComposition().use { ui ->
            val room = mutableStateOf("first")
            val created = AtomicInteger()
            val sessions = Seen<Session?>(null)
            ui.setContent {
                val key by room
                val session = rememberSession(key) {
                    created.incrementAndGet()
                    Session.scripted(literal, Script().agentJoins("agent-$key"))
                }
                SideEffect { sessions.publish(session) }
            }
            val first = checkNotNull(sessions.value)
            ui.onUiThread { room.value = "first" } // the same key: kept
            ui.onUiThread { room.value = "second" }
            val second = checkNotNull(sessions.await("the second session") { it !== first })
            assertNotSame(first, second)
            assertEquals(2, created.get())
            assertClosed(first)
            assertTrue(second.start().isSuccess, "the new session is open")
            second.endAndWait()
            ui.dispose()
            assertClosed(second)
        }
    }

    @Test
    fun rememberSessionWithATokenSourceFetchesFromIt() = test {
        val fetches = AtomicInteger()
        val source = TokenSource.fromCustom {
            fetches.incrementAndGet()
            Result.success(dev.sessioncore.TokenSourceResponse("wss://test.invalid", Jwt.expiringIn(3600)))
        }
        TestComposition().use { ui ->
            val sessions = Seen<Session?>(null)
            ui.setContent {
                val tokenSource = remember { source }
                val session = rememberSession(tokenSource = tokenSource)
                SideEffect { sessions.publish(session) }
            }
            val session = checkNotNull(sessions.value)
            // The test flavour of the library has no LiveKit transport: credentials are fetched,
            // then connecting fails, with a sentence that says so.
            val error = assertIs<SessionException.Connection>(session.start().exceptionOrNull())
            assertEquals(1, fetches.get())
            assertContains(error.message, "could not connect to the room")
            ui.dispose()
            assertClosed(session)
        }
    }

    @Test
    fun helpersOutsideASessionScopeSayWhatToDo() = test {
        TestComposition().use { ui ->
            val error = assertFailsWith<IllegalStateException> { ui.setContent { rememberAgent() } }
            assertContains(error.message.orEmpty(), "inside SessionScope(session)")
        }
        // With the session passed explicitly, no scope is needed.
        TestComposition().use { ui ->
            val states = Seen<AgentState?>(null)
            val texts = Seen<List<String>?>(null)
            val session = Session.scripted(literal, Script())
            ui.setContent {
                val agent = rememberAgent(session)
                val messages = rememberSessionMessages(session)
                SideEffect {
                    states.publish(agent.state)
                    texts.publish(messages.messages.map { it.message })
                }
            }
            assertEquals(AgentState.DISCONNECTED, states.value)
            assertEquals(emptyList(), texts.value)
            assertSame(LocalSession, SessionLocal, "LiveKit's name is the same composition local")
            session.close()
        }
    }
}
