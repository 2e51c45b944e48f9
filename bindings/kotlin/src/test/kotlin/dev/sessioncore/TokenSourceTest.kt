package dev.sessioncore

import dev.sessioncore.bindings.TokenClaims
import dev.sessioncore.bindings.TokenSourceException
import java.io.IOException
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger
import kotlin.coroutines.cancellation.CancellationException
import kotlin.test.Test
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertSame
import kotlin.test.assertTrue
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.withTimeout
import dev.sessioncore.bindings.TokenSource as NativeTokenSource
import dev.sessioncore.bindings.TokenSourceConfigurable as NativeTokenSourceConfigurable
import dev.sessioncore.bindings.TokenSourceResponse as NativeTokenSourceResponse

private const val URL = "wss://example.livekit.cloud"

/** Options with every field set, to prove they all cross the FFI both ways. */
val FULL_OPTIONS = TokenRequestOptions(
    roomName = "room",
    participantName = "Alice",
    participantIdentity = "alice",
    participantMetadata = "meta",
    participantAttributes = mapOf("k" to "v", "k2" to "v2"),
    agentName = "agent",
    agentMetadata = "agent meta",
    agentDeployment = "prod",
)

/** A custom source that counts its calls and answers with a fresh cacheable token each time. */
class CountingSource(private val validForSeconds: Long = 3600) {
    val calls = AtomicInteger()
    val options = CopyOnWriteArrayList<TokenRequestOptions>()
    val source: TokenSource = TokenSource.fromCustom { options ->
        val call = calls.incrementAndGet()
        this.options += options
        Result.success(TokenSourceResponse(URL, Jwt.expiringIn(validForSeconds, identity = "call-$call")))
    }
}

class TokenSourceTest : FfiTest() {
    @Test
    fun literalSourceAnswersWithItsCredentialsAndDoesNotCache() = test {
        val token = Jwt.expiringIn(3600)
        for (source in listOf(TokenSource.fromLiteral(URL, token), TokenSource.of(NativeTokenSource.literal(URL, token)))) {
            val response = source.fetch().getOrThrow()
            assertEquals(URL, response.serverUrl)
            assertEquals(token, response.participantToken)
            assertNull(response.participantName)
            assertNull(response.roomName)
            assertFalse(source.isCached)
            assertNull(source.cachedResponse())
            // The options are ignored by a literal source.
            assertEquals(token, source.fetch(FULL_OPTIONS).getOrThrow().participantToken)
        }
    }

    @Test
    fun customLambdaIsCalledWithTheExactOptions() = test {
        val seen = CopyOnWriteArrayList<TokenRequestOptions>()
        val source = TokenSource.fromCustom { options ->
            seen += options
            // LiveKit Android's order: (serverUrl, participantToken, roomName, participantName).
            return@fromCustom Result.success(TokenSourceResponse(URL, "token-for-${options.roomName}", options.roomName, options.participantName))
        }
        assertTrue(source.isCached)
        val response = source.fetch(FULL_OPTIONS).getOrThrow()
        assertEquals(listOf(FULL_OPTIONS), seen)
        assertEquals("token-for-room", response.participantToken)
        assertEquals("Alice", response.participantName)
        assertEquals("room", response.roomName)
        // Defaults cross too (all null, empty attributes).
        source.fetch(TokenRequestOptions()).getOrThrow()
        assertEquals(TokenRequestOptions(), seen.last())
    }

    @Test
    fun typedErrorsFromTheLambdaPassThroughUnchanged() = test {
        val returned = TokenSource.fromCustom { Result.failure(TokenSourceException.Http(503u, "maintenance")) }
        val error = assertIs<TokenSourceException.Http>(returned.fetch().exceptionOrNull())
        assertEquals(503.toUShort(), error.status)
        assertEquals("maintenance", error.reason)

        val thrown = TokenSource.fromCustom { throw TokenSourceException.Network("offline") }
        assertEquals("offline", assertIs<TokenSourceException.Network>(thrown.fetch().exceptionOrNull()).reason)
        // getOrThrow throws the same typed error.
        assertFailsWith<TokenSourceException.Network> { thrown.fetch(TokenRequestOptions()).getOrThrow() }
    }

    @Test
    fun unexpectedExceptionsBecomeCustom() = test {
        val thrown = TokenSource.fromCustom { throw IllegalStateException("boom") }
        val custom = assertIs<TokenSourceException.Custom>(thrown.fetch().exceptionOrNull())
        assertEquals("java.lang.IllegalStateException: boom", custom.reason)

        val returned = TokenSource.fromCustom { Result.failure(IOException("disk")) }
        assertEquals(
            "java.io.IOException: disk",
            assertIs<TokenSourceException.Custom>(returned.fetch().exceptionOrNull()).reason,
        )

        // An Error (here a failed assertion inside the lambda) must not leave the fetch hanging.
        val error = TokenSource.fromCustom { throw AssertionError("assertion inside the source") }
        assertContains(
            assertIs<TokenSourceException.Custom>(error.fetch().exceptionOrNull()).reason,
            "assertion inside the source",
        )
    }

    @Test
    fun aTimeoutInsideTheLambdaFailsTheFetchInsteadOfHanging() = test {
        val source = TokenSource.fromCustom { withTimeout(10) { awaitCancellation() } }
        val custom = assertIs<TokenSourceException.Custom>(source.fetch().exceptionOrNull())
        assertContains(custom.reason, "Timed out")
    }

    @Test
    fun cancellationIsRethrownAndTypedErrorsKeptByTheMapping() {
        val cancellation = CancellationException("dropped by Rust")
        assertSame(cancellation, cancellation.asTokenSourceFailure())
        val typed = TokenSourceException.Configuration("bad")
        assertSame(typed, typed.asTokenSourceFailure())
        val other = assertIs<TokenSourceException.Custom>(IllegalArgumentException("x").asTokenSourceFailure())
        assertEquals("java.lang.IllegalArgumentException: x", other.reason)
    }

    @Test
    fun implementingTheInterface() = test {
        class MySource : TokenSourceConfigurable {
            val calls = AtomicInteger()

            override suspend fun fetch(options: TokenRequestOptions): TokenSourceResponse {
                calls.incrementAndGet()
                if (options.roomName == "forbidden") throw TokenSourceException.Http(403u, "no")
                if (options.roomName == "broken") throw IOException("socket closed")
                return TokenSourceResponse(URL, Jwt.expiringIn(3600), roomName = options.roomName)
            }
        }
        val mine = MySource()
        val source = TokenSource.fromCustom(mine)
        val options = TokenRequestOptions(roomName = "ok")
        assertEquals("ok", source.fetch(options).getOrThrow().roomName)
        source.fetch(options).getOrThrow()
        assertEquals(1, mine.calls.get(), "the second fetch is a cache hit")
        assertEquals(403.toUShort(), assertIs<TokenSourceException.Http>(source.fetch(TokenRequestOptions(roomName = "forbidden")).exceptionOrNull()).status)
        assertEquals(
            "java.io.IOException: socket closed",
            assertIs<TokenSourceException.Custom>(source.fetch(TokenRequestOptions(roomName = "broken")).exceptionOrNull()).reason,
        )

        // The generated constructor takes the generated interface directly; uniffi reports an
        // unexpected exception as Custom too (with the exception's toString()).
        val generated = object : NativeTokenSourceConfigurable {
            override suspend fun fetch(options: TokenRequestOptions): NativeTokenSourceResponse =
                mine.fetch(options).native
        }
        val raw = TokenSource.of(NativeTokenSource.custom(generated))
        assertEquals("ok", raw.fetch(options).getOrThrow().roomName)
        assertContains(
            assertIs<TokenSourceException.Custom>(raw.fetch(TokenRequestOptions(roomName = "broken")).exceptionOrNull()).reason,
            "socket closed",
        )
    }

    @Test
    fun aSecondFetchIsServedFromTheCacheWithoutCallingTheLambda() = test {
        val counting = CountingSource()
        val source = counting.source
        val first = source.fetch(FULL_OPTIONS).getOrThrow()
        val second = source.fetch(FULL_OPTIONS).getOrThrow()
        assertEquals(1, counting.calls.get())
        assertEquals(first.participantToken, second.participantToken)
        assertEquals(first.participantToken, assertNotNull(source.cachedResponse()).participantToken)
        assertEquals(listOf(FULL_OPTIONS), counting.options.toList())
    }

    @Test
    fun fetchCachedAnswersHitsSynchronouslyAndNeverCallsTheSource() = test {
        val counting = CountingSource()
        val source = counting.source
        assertNull(source.fetchCached(FULL_OPTIONS), "nothing cached yet")
        assertEquals(0, counting.calls.get())
        val fetched = source.fetch(FULL_OPTIONS).getOrThrow().participantToken
        assertEquals(fetched, assertNotNull(source.fetchCached(FULL_OPTIONS)).participantToken)
        assertNull(source.fetchCached(TokenRequestOptions(roomName = "another room")))
        assertEquals(fetched, source.fetch(FULL_OPTIONS).getOrThrow().participantToken)
        assertEquals(1, counting.calls.get())
        assertNull(TokenSource.fromLiteral("wss://x", "t").fetchCached(TokenRequestOptions()), "no cache")
    }

    @Test
    fun refetchBypassesAndUpdatesTheCache() = test {
        val counting = CountingSource()
        val source = counting.source
        val first = source.fetch(TokenRequestOptions()).getOrThrow().participantToken
        val fresh = source.refetch(TokenRequestOptions()).getOrThrow().participantToken
        assertEquals(2, counting.calls.get())
        assertTrue(first != fresh)
        assertEquals(fresh, source.fetch(TokenRequestOptions()).getOrThrow().participantToken)
        assertEquals(2, counting.calls.get())
        assertEquals(fresh, source.cachedResponse()?.participantToken)
    }

    @Test
    fun invalidateClearsTheCache() = test {
        val counting = CountingSource()
        val source = counting.source
        source.fetch(TokenRequestOptions()).getOrThrow()
        assertNotNull(source.cachedResponse())
        source.invalidate()
        assertNull(source.cachedResponse())
        source.fetch(TokenRequestOptions()).getOrThrow()
        assertEquals(2, counting.calls.get())
    }

    @Test
    fun differentOptionsMissAndTheDefaultCacheKeepsOneEntry() = test {
        val counting = CountingSource()
        val source = counting.source
        val a = TokenRequestOptions(roomName = "a")
        val b = TokenRequestOptions(roomName = "b")
        source.fetch(a).getOrThrow()
        source.fetch(b).getOrThrow()
        source.fetch(a).getOrThrow()
        assertEquals(3, counting.calls.get(), "capacity 1: b evicted a")
        assertEquals(listOf(a, b, a), counting.options.toList())
    }

    @Test
    fun withCacheAndWithoutCacheMakeNewSources() = test {
        val counting = CountingSource()
        val uncached = counting.source.withoutCache()
        assertFalse(uncached.isCached)
        uncached.fetch(TokenRequestOptions()).getOrThrow()
        uncached.fetch(TokenRequestOptions()).getOrThrow()
        assertEquals(2, counting.calls.get())
        assertNull(uncached.cachedResponse())
        uncached.invalidate() // a no-op without a cache

        val twoEntries = counting.source.withCache(capacity = 2)
        assertTrue(twoEntries.isCached)
        val a = TokenRequestOptions(roomName = "a")
        val b = TokenRequestOptions(roomName = "b")
        twoEntries.fetch(a).getOrThrow()
        twoEntries.fetch(b).getOrThrow()
        twoEntries.fetch(a).getOrThrow()
        twoEntries.fetch(b).getOrThrow()
        assertEquals(4, counting.calls.get(), "capacity 2 keeps both")

        // A literal source can be cached too: a JWT with exp is then served from the cache.
        val literal = TokenSource.fromLiteral(URL, Jwt.expiringIn(3600))
        val cachedLiteral = literal.withCache()
        assertTrue(cachedLiteral.isCached)
        assertNull(cachedLiteral.cachedResponse())
        cachedLiteral.fetch(TokenRequestOptions()).getOrThrow()
        assertNotNull(cachedLiteral.cachedResponse())
        assertFalse(cachedLiteral.withoutCache().isCached)
    }

    @Test
    fun responseAccessorsAndClaims() {
        val exp = Jwt.now() + 3600
        val token = Jwt.token(
            """{"sub":"alice","name":"Alice","metadata":"m","exp":$exp,"video":{"room":"room-1","roomJoin":true},""" +
                """"roomConfig":{"agents":[{"agentName":"agent-a"},{"agentName":"agent-b"}]}}""",
        )
        val response = TokenSourceResponse(URL, token, participantName = "Alice", roomName = "room-1")
        assertEquals(URL, response.serverUrl)
        assertEquals(token, response.participantToken)
        assertEquals("Alice", response.participantName)
        assertEquals("room-1", response.roomName)
        assertTrue(response.dispatchesAgent())
        assertEquals(
            TokenClaims(
                identity = "alice",
                name = "Alice",
                metadata = "m",
                room = "room-1",
                expiresAt = exp,
                agentNames = listOf("agent-a", "agent-b"),
            ),
            response.claims(),
        )

        val noAgent = TokenSourceResponse(URL, Jwt.expiringIn(60))
        assertFalse(noAgent.dispatchesAgent())
        assertEquals(emptyList(), noAgent.claims()?.agentNames)
        assertNull(noAgent.claims()?.room)

        val opaque = TokenSourceResponse(URL, "opaque-token")
        assertNull(opaque.claims())
        assertFalse(opaque.dispatchesAgent())
    }

    @Test
    fun tokensNeverAppearInToString() = test {
        val token = Jwt.expiringIn(3600)
        val response = TokenSourceResponse(URL, token)
        assertFalse(response.toString().contains(token))
        val source = TokenSource.fromLiteral(URL, token)
        assertFalse(source.toString().contains(token))
        val fetched = source.fetch(TokenRequestOptions()).getOrThrow()
        assertFalse(fetched.toString().contains(token))
    }
}
