// The seed's Android snippet (../shared/reference/seed-custom-token-generation.md, "Android"),
// verbatim inside `SeedScreen`, except: the imports, the `LIVEKIT_URL` value, and
// `customTokenGenerationFunction`, `rememberSession(tokenSource)`'s scripted room, `Toast` and
// `context`, which this file and SeedWidgets.kt define (the UI widgets there are TEST-ONLY
// STAND-INS; the session helpers are the real ones, on the real Compose runtime).
// Another package than dev.sessioncore on purpose: the snippet sees only what it imports.
package dev.sessioncore.seed.android

import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import dev.sessioncore.FfiTest
import dev.sessioncore.Jwt
import dev.sessioncore.Session
import dev.sessioncore.TokenSource
import dev.sessioncore.TokenSourceResponse
import dev.sessioncore.agentState
import dev.sessioncore.bindings.ChatResponder
import dev.sessioncore.bindings.Script
import dev.sessioncore.compose.SessionScope
import dev.sessioncore.compose.TestComposition
import dev.sessioncore.compose.awaitValue
import dev.sessioncore.compose.rememberAgent
import dev.sessioncore.compose.rememberSessionMessages
import java.io.IOException
import java.util.concurrent.atomic.AtomicBoolean
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.launch

val LIVEKIT_URL = "wss://scripted.invalid"

/** Stand-in for Android's `LocalContext.current` (only Toast reads it). */
val context: Any = "test context"

private val failTokenGeneration = AtomicBoolean(false)

/** The app's own token generation: a real JWT for the participant, or an I/O failure when told. */
fun customTokenGenerationFunction(roomName: String?, participantName: String?, agentName: String?): String {
    if (failTokenGeneration.get()) throw IOException("the token service is unreachable")
    return Jwt.expiringIn(3600, identity = participantName ?: "seed-user")
}

/**
 * `rememberSession(tokenSource)` for this test: the real `dev.sessioncore.compose.rememberSession`
 * (same lifetime), over a session whose room is scripted (the test flavour has no LiveKit
 * transport): an agent joins, listens, greets, and answers chat.
 */
@Composable
fun rememberSession(tokenSource: TokenSource): Session =
    dev.sessioncore.compose.rememberSession(tokenSource) {
        lastSession = Session.scripted(
            tokenSource,
            Script()
                .withWordIntervalMs(1uL)
                .agentJoins("agent-1", "Assistant")
                .agentState("listening")
                .agentSays("Hi! How can I help?")
                .onChat(
                    object : ChatResponder {
                        override fun reply(text: String): Script = Script().agentSays("You said $text")
                    },
                ),
        )
        lastSession!!
    }

private var lastSession: Session? = null

@Composable
fun SeedScreen() {
val tokenSource = remember {
    TokenSource.fromCustom { options ->
        // Run your custom token generation logic, using values in `options` as inputs
        // ie, something like:
        var participantToken = customTokenGenerationFunction(options.roomName, options.participantName, options.agentName, /* etc */)
        return@fromCustom Result.success(TokenSourceResponse(LIVEKIT_URL, participantToken))
    }
}
val session = rememberSession(
    tokenSource = tokenSource
)

Column {
    SessionScope(session = session) { session ->
        val coroutineScope = rememberCoroutineScope()
        var shouldConnect by remember { mutableStateOf(false) }

        LaunchedEffect(shouldConnect) {
            if (shouldConnect) {

                val result = session.start()

                // Handle if the session fails to connect.
                if (result.isFailure) {
                    Toast.makeText(context, "Error connecting to the session.", Toast.LENGTH_SHORT).show()
                    shouldConnect = false
                }
            } else {
                session.end()
            }
        }
        Button(onClick = { shouldConnect = !shouldConnect }) {
            Text(
                if (shouldConnect) {
                    "Disconnect"
                } else {
                    "Connect"
                }
            )
        }

        // Agent provides state information about the agent participant.
        val agent = rememberAgent()
        Text(agent.agentState.name)

        // SessionMessages handles all transcriptions and chat messages
        val sessionMessages = rememberSessionMessages()

        LazyColumn {
            items(items = sessionMessages.messages) { message ->
                Text(message.message)
            }
        }

        val messageState = rememberTextFieldState()
        TextField(state = messageState)
        Button(onClick = {
            coroutineScope.launch {
                sessionMessages.send(messageState.text.toString())
                messageState.clearText()
            }
        }) {
            Text("Send")
        }
    }
}
}

/** The seed's snippet, run: connect → agent state → send → messages → end, and a failed connect. */
class SeedAndroidSnippetTest : FfiTest() {
    private suspend fun TestComposition.click(label: String) {
        val onClick = screen.buttons.awaitValue("a \"$label\" button") { label in it }[label]!!
        onUiThread { onClick() }
    }

    @Test
    fun theSeedsSnippetConnectsShowsTheAgentSendsAndEnds() = test {
        failTokenGeneration.set(false)
        screen = Screen()
        TestComposition().use { ui ->
            ui.setContent { SeedScreen() }
            screen.texts.awaitValue("the agent's state, disconnected") { it == listOf("DISCONNECTED") }

            ui.click("Connect")
            screen.buttons.awaitValue("the Disconnect button") { "Disconnect" in it }
            try {
                screen.texts.awaitValue("the agent listening and its greeting") {
                    it == listOf("LISTENING", "Hi! How can I help?")
                }
            } catch (e: AssertionError) {
                val s = lastSession!!
                throw AssertionError("${e.message}; toasts ${Toast.shown.value}; ${s.connectionState.value} ${s.agent.value} ${s.error.value} ${s.messages.value}")
            }

            val field = checkNotNull(screen.textField) { "the TextField was composed" }
            ui.onUiThread { field.text = "hello" }
            ui.click("Send")
            screen.texts.awaitValue("the sent message and the reply") {
                it.drop(1).toSet() == setOf("Hi! How can I help?", "hello", "You said hello")
            }
            ui.onUiThread { assertEquals("", field.text.toString(), "the seed clears the field after send") }

            ui.click("Disconnect")
            screen.buttons.awaitValue("the Connect button") { "Connect" in it }
            val after = screen.texts.awaitValue("the agent disconnected") { it.firstOrNull() == "DISCONNECTED" }
            assertEquals(setOf("Hi! How can I help?", "hello", "You said hello"), after.drop(1).toSet(), "end keeps the messages")
            assertTrue(Toast.shown.value.isEmpty(), "no error toast: ${Toast.shown.value}")
        }
    }

    @Test
    fun aFailedConnectShowsTheSeedsToastAndResetsTheButton() = test {
        failTokenGeneration.set(true)
        Toast.shown.value = emptyList()
        screen = Screen()
        try {
            TestComposition().use { ui ->
                ui.setContent { SeedScreen() }
                ui.click("Connect")
                // start() returned a failure: the toast, and shouldConnect back to false.
                Toast.shown.awaitValue("the error toast") { it.isNotEmpty() }
                assertEquals(listOf("Error connecting to the session."), Toast.shown.value)
                screen.buttons.awaitValue("the Connect button again") { "Connect" in it }
                // start() resynced the flows before returning: the agent is not left CONNECTING.
                screen.texts.awaitValue("the agent disconnected") { it == listOf("DISCONNECTED") }
            }
        } finally {
            failTokenGeneration.set(false)
            Toast.shown.value = emptyList()
        }
    }
}
