package dev.sessioncore

import dev.sessioncore.bindings.TokenSourceException
import java.net.ServerSocket
import java.net.URL
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlin.test.Test
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.milliseconds
import dev.sessioncore.bindings.TokenSource as NativeTokenSource

/** Endpoint and development-token-server sources against a real local HTTP server. */
class EndpointTest : FfiTest() {
    private val token = Jwt.expiringIn(3600)

    private fun created(body: String = """{"server_url":"wss://lk.example","participant_token":"$token","participant_name":"Alice","room_name":"room"}""") =
        Reply(201, body)

    @Test
    fun endpointSendsTheStandardRequestAndParsesA201() = test {
        TestHttpServer { created() }.use { server ->
            val source = TokenSource.fromEndpoint(
                "${server.baseUrl}/token?app=1",
                headers = mapOf("Authorization" to "Bearer app-session", "X-Client" to "kotlin-test"),
            )
            assertTrue(source.isCached)
            val response = source.fetch(FULL_OPTIONS).getOrThrow()
            assertEquals("wss://lk.example", response.serverUrl)
            assertEquals(token, response.participantToken)
            assertEquals("Alice", response.participantName)
            assertEquals("room", response.roomName)

            val request = server.takeRequest()
            assertEquals("POST", request.method)
            assertEquals("/token?app=1", request.path)
            assertEquals("application/json", request.header("Content-Type"))
            assertEquals("Bearer app-session", request.header("Authorization"))
            assertEquals("kotlin-test", request.header("X-Client"))
            assertEquals(
                """{"room_name":"room","participant_name":"Alice","participant_identity":"alice",""" +
                    """"participant_metadata":"meta","participant_attributes":{"k":"v","k2":"v2"},""" +
                    """"room_config":{"agents":[{"agent_name":"agent","metadata":"agent meta","deployment":"prod"}]}}""",
                request.body,
            )

            // Cached: the second fetch does not reach the server.
            assertEquals(token, source.fetch(FULL_OPTIONS).getOrThrow().participantToken)
            assertTrue(server.requests.isEmpty())
            // Empty options serialize to {}.
            source.fetch(TokenRequestOptions()).getOrThrow()
            assertEquals("{}", server.takeRequest().body)
        }
    }

    @Test
    fun methodUrlOverloadAndCamelCaseResponses() = test {
        TestHttpServer { Reply(200, """{"serverUrl":"wss://camel.example","participantToken":"$token"}""") }.use { server ->
            val generated = TokenSource.of(NativeTokenSource.endpoint("${server.baseUrl}/get", method = "GET", timeoutMs = 5_000uL))
            val response = generated.fetch(TokenRequestOptions(roomName = "r")).getOrThrow()
            assertEquals("wss://camel.example", response.serverUrl)
            assertNull(response.roomName)
            val request = server.takeRequest()
            assertEquals("GET", request.method)
            assertEquals("""{"room_name":"r"}""", request.body)

            val viaUrl = TokenSource.fromEndpoint(URL("${server.baseUrl}/url"), method = "PUT")
            viaUrl.fetch(TokenRequestOptions()).getOrThrow()
            val put = server.takeRequest()
            assertEquals("PUT", put.method)
            assertEquals("/url", put.path)
        }
    }

    @Test
    fun http403IsATypedErrorWithoutTheHeaderValues() = test {
        TestHttpServer { Reply(403, """{"error":"denied for this app"}""") }.use { server ->
            val source = TokenSource.fromEndpoint(server.baseUrl, headers = mapOf("Authorization" to "Bearer top-secret-value"))
            val error = assertIs<TokenSourceException.Http>(source.fetch().exceptionOrNull())
            assertEquals(403.toUShort(), error.status)
            assertContains(error.reason, "denied for this app")
            assertFalse(error.toString().contains("top-secret-value"))
            assertNull(source.cachedResponse(), "a failure is not cached")
            // Not cached: the next fetch asks again.
            assertTrue(source.fetch().isFailure)
            assertEquals(2, server.requests.size)
        }
    }

    @Test
    fun invalidResponsesAreTyped() = test {
        TestHttpServer { Reply(200, "<html>not json</html>", "text/html") }.use { server ->
            val error = TokenSource.fromEndpoint(server.baseUrl).fetch().exceptionOrNull()
            assertContains(assertIs<TokenSourceException.InvalidResponse>(error).reason, "not JSON")
        }
        TestHttpServer { Reply(200, """{"server_url":"wss://x"}""") }.use { server ->
            val error = TokenSource.fromEndpoint(server.baseUrl).fetch().exceptionOrNull()
            assertContains(assertIs<TokenSourceException.InvalidResponse>(error).reason, "participant_token")
        }
    }

    @Test
    fun configurationErrors() = test {
        val method = assertFailsWith<TokenSourceException.Configuration> {
            TokenSource.fromEndpoint("http://127.0.0.1:1/token", method = "NOT A METHOD")
        }
        assertContains(method.reason, "NOT A METHOD")
        val scheme = TokenSource.fromEndpoint("ftp://127.0.0.1/token").fetch().exceptionOrNull()
        assertIs<TokenSourceException.Configuration>(scheme)
        val header = TokenSource.fromEndpoint("http://127.0.0.1:1/", headers = mapOf("Bad Header" to "v"))
        assertIs<TokenSourceException.Configuration>(header.fetch().exceptionOrNull())
        val sandbox = TokenSource.fromDevelopmentTokenServer("---", baseUrl = "http://127.0.0.1:1")
        assertIs<TokenSourceException.Configuration>(sandbox.fetch().exceptionOrNull())
        kotlin.test.assertFailsWith<IllegalArgumentException> {
            TokenSource.fromEndpoint("http://127.0.0.1:1/", timeout = (-1).milliseconds)
        }
    }

    @Test
    fun networkErrorsAndTimeouts() = test {
        val closedPort = ServerSocket(0).use { it.localPort }
        val refused = TokenSource.fromEndpoint("http://127.0.0.1:$closedPort/token").fetch().exceptionOrNull()
        assertIs<TokenSourceException.Network>(refused)

        val release = CountDownLatch(1)
        TestHttpServer {
            release.await(30, TimeUnit.SECONDS)
            created()
        }.use { server ->
            val slow = TokenSource.fromEndpoint(server.baseUrl, timeout = 200.milliseconds)
            val error = assertIs<TokenSourceException.Network>(slow.fetch().exceptionOrNull())
            assertContains(error.reason, "200 ms")
            release.countDown()
        }
    }

    @Test
    fun developmentTokenServerPostsWithTheSandboxHeader() = test {
        TestHttpServer { created() }.use { server ->
            val sources = listOf(
                TokenSource.fromDevelopmentTokenServer("  my-sandbox-42\n", baseUrl = server.baseUrl),
                TokenSource.fromSandboxTokenServer("my-sandbox-42", baseUrl = "${server.baseUrl}/"),
                TokenSource.of(NativeTokenSource.developmentTokenServer("my-sandbox-42", server.baseUrl)),
                TokenSource.of(NativeTokenSource.sandboxTokenServer("my-sandbox-42", server.baseUrl)),
            )
            for (source in sources) {
                assertTrue(source.isCached)
                val response = source.fetch(TokenRequestOptions(roomName = "r", agentName = "a")).getOrThrow()
                assertEquals(token, response.participantToken)
                val request = server.takeRequest()
                assertEquals("POST", request.method)
                assertEquals("/api/v2/sandbox/connection-details", request.path)
                assertEquals("my-sandbox-42", request.header("X-Sandbox-ID"))
                assertEquals("application/json", request.header("Content-Type"))
                assertEquals("""{"room_name":"r","room_config":{"agents":[{"agent_name":"a"}]}}""", request.body)
            }
        }
    }

    @Test
    fun developmentTokenServerErrorsAreTyped() = test {
        TestHttpServer { Reply(401, "unknown sandbox") }.use { server ->
            val source = TokenSource.fromDevelopmentTokenServer("sandbox-1", baseUrl = server.baseUrl)
            val error = assertIs<TokenSourceException.Http>(source.fetch().exceptionOrNull())
            assertEquals(401.toUShort(), error.status)
            assertFalse(error.toString().contains("sandbox-1"), "the sandbox ID never appears in errors")
        }
    }
}
