package dev.sessioncore

import dev.sessioncore.bindings.CallbackException
import dev.sessioncore.bindings.Script
import dev.sessioncore.bindings.SessionException
import dev.sessioncore.bindings.TokenSourceException
import java.io.IOException
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertTrue

/**
 * What people read: `message` (a Toast), `localizedMessage` and `toString()` of every exported
 * error are the same single sentence written in Rust, never a `field=value` dump, never a cause
 * printed twice; a failure of the app's own token source says so.
 */
class ErrorMessageTest : FfiTest() {
    private fun assertReadable(error: Throwable, expected: String? = null) {
        val message = error.message
        assertEquals(error.toString(), message, "message and toString() are the same sentence")
        assertEquals(message, error.localizedMessage)
        requireNotNull(message)
        if (expected != null) assertEquals(expected, message)
        assertTrue(message.first().isUpperCase() && message.endsWith("."), message)
        assertFalse(Regex("""\w=""").containsMatchIn(message), "a field dump: $message")
    }

    @Test
    fun everyExportedErrorReadsAsOneSentence() {
        val errors = listOf(
            TokenSourceException.Configuration("invalid header `X-Key`"),
            TokenSourceException.Network("offline"),
            TokenSourceException.Http(403u, "denied"),
            TokenSourceException.Http(503u, ""),
            TokenSourceException.InvalidResponse("not JSON"),
            TokenSourceException.Custom("backend down"),
            SessionException.Connection("could not connect to the room: refused", null),
            SessionException.Connection("the token server answered HTTP 401", TokenSourceException.Http(401u, "")),
            SessionException.Sender("not connected"),
            SessionException.Receiver("stream reset"),
            SessionException.Media("no permission"),
            SessionException.NotDisconnected(),
            SessionException.Cancelled(),
            SessionException.EmptyMessage(),
            CallbackException.Failed("boom"),
        )
        for (error in errors) assertReadable(error)
        assertReadable(
            TokenSourceException.Http(403u, "denied"),
            "The token server answered HTTP 403 (denied); check the app's credentials for the token server.",
        )
        assertReadable(
            TokenSourceException.Http(503u, ""),
            "The token server answered HTTP 503; try again later.",
        )
    }

    @Test
    fun aThrowingCustomSourceIsReportedOnceAsTheCustomSource() = test {
        val throwing = TokenSource.fromCustom { throw IOException("disk full") }
        val fetchError = assertIs<TokenSourceException.Custom>(throwing.fetch().exceptionOrNull())
        assertReadable(
            fetchError,
            "The app's custom token source failed (java.io.IOException: disk full); check the app's token source.",
        )

        Session.scripted(throwing, Script()).use { session ->
            val error = assertIs<SessionException.Connection>(session.start().exceptionOrNull())
            assertReadable(
                error,
                "The session could not get a token: the app's custom token source failed " +
                    "(java.io.IOException: disk full); check the app's token source.",
            )
            assertEquals(1, Regex("custom token source").findAll(error.message).count())
            assertEquals(1, Regex("disk full").findAll(error.message).count())
            assertReadable(session.error.await("the session error") { it != null }!!)
        }
    }

    @Test
    fun aCustomSourceReturningHttp403IsNotReportedAsAnEndpoint() = test {
        val forbidden = TokenSource.fromCustom { Result.failure(TokenSourceException.Http(403u, "denied")) }
        Session.scripted(forbidden, Script()).use { session ->
            val error = assertIs<SessionException.Connection>(session.start().exceptionOrNull())
            assertReadable(
                error,
                "The session could not get a token: the app's custom token source failed: the token server " +
                    "answered HTTP 403 (denied); check the app's credentials for the token server.",
            )
            assertFalse("endpoint" in error.message, error.message)
            // The typed error the source returned is still there, unchanged.
            assertEquals(TokenSourceException.Http(403u, "denied").status, assertIs<TokenSourceException.Http>(error.tokenSource).status)
        }
        // An exception whose text merely looks like an HTTP error is the custom source's failure.
        val looksLikeHttp = TokenSource.fromCustom { throw IOException("HTTP 403 Forbidden") }
        val error = assertIs<TokenSourceException.Custom>(looksLikeHttp.fetch().exceptionOrNull())
        assertTrue(error.message.startsWith("The app's custom token source failed (java.io.IOException: HTTP 403 Forbidden)"))
    }

    @Test
    fun anEndpointErrorNamesTheTokenServer() = test {
        TestHttpServer { Reply(401, """{"error":"unknown app"}""") }.use { server ->
            val error = TokenSource.fromEndpoint(server.baseUrl + "/token").fetch().exceptionOrNull()
            assertReadable(assertIs<TokenSourceException.Http>(error))
            assertTrue(error.message.startsWith("The token server answered HTTP 401 ("), error.message)
            assertFalse("custom" in error.message, error.message)
        }
    }
}
