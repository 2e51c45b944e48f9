// Another package than dev.sessioncore on purpose: this file sees only what it imports, like an
// app. Its imports mirror LiveKit Android's (io.livekit.android.token.TokenSource,
// io.livekit.android.token.TokenSourceResponse): no extension function has to be imported.
package dev.sessioncore.seed

import dev.sessioncore.FfiTest
import dev.sessioncore.Jwt
import dev.sessioncore.TokenRequestOptions
import dev.sessioncore.TokenSource
import dev.sessioncore.TokenSourceResponse
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNotEquals
import kotlin.test.assertNull
import kotlin.test.assertTrue

private val LIVEKIT_URL = "wss://my-project.livekit.cloud"

/** The seed's token half, as LiveKit Android code writes it. */
class SeedTokenSourceTest : FfiTest() {
    private val requests = CopyOnWriteArrayList<Triple<String?, String?, String?>>()

    private fun customTokenGenerationFunction(roomName: String?, participantName: String?, agentName: String?): String {
        requests += Triple(roomName, participantName, agentName)
        return Jwt.expiringIn(3600, identity = participantName ?: "anonymous")
    }

    @Test
    fun theSeedsCustomTokenSourceCompilesAndFetches() = test {
        // The seed's lines, verbatim (the `remember { }` around them is Compose's).
        val tokenSource = TokenSource.fromCustom { options ->
            // Run your custom token generation logic, using values in `options` as inputs
            // ie, something like:
            var participantToken = customTokenGenerationFunction(options.roomName, options.participantName, options.agentName, /* etc */)
            return@fromCustom Result.success(TokenSourceResponse(LIVEKIT_URL, participantToken))
        }

        // LiveKit Android's fetch: default options, a Result, properties.
        val response = tokenSource.fetch().getOrThrow()
        assertEquals(LIVEKIT_URL, response.serverUrl)
        assertEquals(listOf(Triple<String?, String?, String?>(null, null, null)), requests.toList())
        val forRoom = tokenSource.fetch(TokenRequestOptions(roomName = "room name to join", participantName = "Ada", agentName = "helper"))
        assertEquals(Triple<String?, String?, String?>("room name to join", "Ada", "helper"), requests.last())
        assertTrue(forRoom.isSuccess)
        assertNotEquals(response.participantToken, forRoom.getOrThrow().participantToken)
    }

    @Test
    fun responsesTakeLiveKitsArgumentOrderAndSurviveTheRoundTrip() = test {
        // LiveKit Android: TokenSourceResponse(serverUrl, participantToken, roomName, participantName).
        val token = Jwt.expiringIn(3600)
        val positional = TokenSourceResponse(LIVEKIT_URL, token, "my-room", "Ada")
        assertEquals("my-room", positional.roomName)
        assertEquals("Ada", positional.participantName)

        // Through Rust and back (a custom source's response is what fetch returns).
        val source = TokenSource.fromCustom { Result.success(positional) }
        val fetched = source.fetch().getOrThrow()
        assertEquals("my-room", fetched.roomName)
        assertEquals("Ada", fetched.participantName)
        assertEquals(positional, fetched)
        assertEquals(positional.hashCode(), fetched.hashCode())

        // The optional ones default to null, named arguments work, copy() works.
        val bare = TokenSourceResponse(LIVEKIT_URL, token)
        assertNull(bare.roomName)
        assertNull(bare.participantName)
        assertEquals(TokenSourceResponse(LIVEKIT_URL, token, participantName = "Ada"), bare.copy(participantName = "Ada"))
        assertNotEquals(bare, positional)

        // toString shows the fields people debug, never the token.
        assertEquals(
            "TokenSourceResponse(serverUrl=$LIVEKIT_URL, participantToken=<redacted>, roomName=my-room, participantName=Ada)",
            positional.toString(),
        )
        assertFalse(token in fetched.toString())
        assertFalse(token in source.toString())
    }
}
