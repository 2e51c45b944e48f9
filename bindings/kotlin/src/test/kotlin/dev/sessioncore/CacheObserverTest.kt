package dev.sessioncore

import dev.sessioncore.bindings.CacheEvent
import dev.sessioncore.bindings.CacheObserver
import dev.sessioncore.bindings.MissReason
import dev.sessioncore.bindings.TokenSourceException
import java.util.concurrent.CountDownLatch
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNotSame
import kotlin.test.assertNull
import kotlin.test.assertSame
import kotlin.test.assertTrue
import kotlin.test.fail
import kotlin.time.Duration.Companion.hours
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout

/** Records cache events with the thread each arrived on. */
class RecordingObserver : CacheObserver {
    val events = LinkedBlockingQueue<Pair<CacheEvent, Thread>>()

    override fun onEvent(event: CacheEvent) {
        events.add(event to Thread.currentThread())
    }

    /** The next [count] events, failing after [WAIT]. */
    fun take(count: Int): List<Pair<CacheEvent, Thread>> =
        List(count) { events.poll(WAIT.inWholeMilliseconds, TimeUnit.MILLISECONDS) ?: fail("cache event ${it + 1} of $count did not arrive") }
}

private const val URL = "wss://example.livekit.cloud"

class CacheObserverTest : FfiTest() {
    @Test
    fun eventsArriveInOrderOnTheThreadThatCausedThem() = test {
        val counting = CountingSource()
        val source = counting.source
        val observer = RecordingObserver()
        val handle = source.native.observeCache(observer)
        val testThread = Thread.currentThread()

        source.fetch(TokenRequestOptions()).getOrThrow()
        source.fetch(TokenRequestOptions()).getOrThrow()
        source.refetch(TokenRequestOptions()).getOrThrow()
        val fetchEvents = observer.take(5)
        assertEquals(
            listOf(
                CacheEvent.Miss(MissReason.NOT_CACHED),
                CacheEvent.Stored(false),
                CacheEvent.Hit,
                CacheEvent.Miss(MissReason.FORCED),
                CacheEvent.Stored(false),
            ),
            fetchEvents.map { it.first },
        )
        // Upstream fetches run on Rust's runtime, so their events arrive on Rust threads; a hit
        // is answered (and reported) synchronously, on the thread that called fetch.
        for ((event, thread) in fetchEvents) {
            if (event == CacheEvent.Hit) {
                assertSame(testThread, thread, "a hit is reported on the fetching thread")
            } else {
                assertNotSame(testThread, thread, "$event must arrive on a Rust thread")
            }
        }
        // Invalidated is produced synchronously by invalidate(), on the calling thread.
        source.invalidate()
        val (invalidated, thread) = observer.take(1).single()
        assertSame(CacheEvent.Invalidated, invalidated)
        assertSame(testThread, thread)

        assertFalse(handle.isCancelled())
        handle.cancel()
        assertTrue(handle.isCancelled())
        handle.cancel() // idempotent
        handle.close()
    }

    @Test
    fun cancellingTheTaskHandleStopsEvents() = test {
        val source = CountingSource().source
        val cancelled = RecordingObserver()
        val active = RecordingObserver()
        val cancelledHandle = source.native.observeCache(cancelled)
        val activeHandle = source.native.observeCache(active)
        source.fetch(TokenRequestOptions()).getOrThrow()
        assertEquals(2, cancelled.take(2).size)
        assertEquals(2, active.take(2).size)

        cancelledHandle.cancel()
        source.fetch(TokenRequestOptions()).getOrThrow()
        assertSame(CacheEvent.Hit, active.take(1).single().first)
        // The hit was delivered to the active observer, synchronously before the cancelled one
        // would have been called: nothing may have reached it.
        assertTrue(cancelled.events.isEmpty(), "a cancelled observer received ${cancelled.events}")
        activeHandle.close() // closing (dropping) the handle also stops it
        source.fetch(TokenRequestOptions()).getOrThrow()
        val probe = RecordingObserver()
        source.native.observeCache(probe).use {
            source.fetch(TokenRequestOptions()).getOrThrow()
            assertSame(CacheEvent.Hit, probe.take(1).single().first)
        }
        assertTrue(active.events.isEmpty(), "a closed handle's observer received ${active.events}")
    }

    @Test
    fun missReasonsForUncacheableExpiredAndNotYetValidTokens() = test {
        for ((token, reason) in listOf(
            "opaque-token" to MissReason.UNCACHEABLE,
            Jwt.expiringIn(30) to MissReason.EXPIRED, // inside the 60 s margin
            Jwt.expiringIn(7200, extra = ""","nbf":${Jwt.now() + 3600}""") to MissReason.NOT_YET_VALID,
        )) {
            val calls = AtomicInteger()
            val source = TokenSource.fromCustom {
                calls.incrementAndGet()
                Result.success(TokenSourceResponse(URL, token))
            }
            val observer = RecordingObserver()
            source.native.observeCache(observer).use {
                source.fetch(TokenRequestOptions()).getOrThrow()
                source.fetch(TokenRequestOptions()).getOrThrow()
                assertEquals(
                    listOf(
                        CacheEvent.Miss(MissReason.NOT_CACHED),
                        CacheEvent.Stored(false),
                        CacheEvent.Miss(reason),
                        CacheEvent.Stored(false),
                    ),
                    observer.take(4).map { it.first },
                )
                assertEquals(2, calls.get())
            }
        }
    }

    @Test
    fun failedFetchesAreReportedAndNotCached() = test {
        val source = TokenSource.fromCustom { Result.failure(TokenSourceException.Http(500u, "oops")) }
        val observer = RecordingObserver()
        source.native.observeCache(observer).use {
            assertTrue(source.fetch().isFailure)
            val events = observer.take(2).map { it.first }
            assertEquals(CacheEvent.Miss(MissReason.NOT_CACHED), events[0])
            val failed = assertIs<CacheEvent.Failed>(events[1])
            assertFalse(failed.refresh)
            val error = assertIs<TokenSourceException.Http>(failed.error)
            assertEquals(500.toUShort(), error.status)
            assertNull(source.cachedResponse())
        }
    }

    @Test
    fun concurrentFetchesJoinOneUpstreamCall() = test {
        val entered = CountDownLatch(1)
        val release = CompletableDeferred<Unit>()
        val calls = AtomicInteger()
        val token = Jwt.expiringIn(3600)
        val source = TokenSource.fromCustom {
            calls.incrementAndGet()
            entered.countDown()
            release.await()
            Result.success(TokenSourceResponse(URL, token))
        }
        val observer = RecordingObserver()
        source.native.observeCache(observer).use {
            val first = async(Dispatchers.Default) { source.fetch(TokenRequestOptions()) }
            entered.awaitOrFail("the upstream call")
            assertEquals(CacheEvent.Miss(MissReason.NOT_CACHED), observer.take(1).single().first)
            val second = async(Dispatchers.Default) { source.fetch(TokenRequestOptions()) }
            assertSame(CacheEvent.Joined, observer.take(1).single().first)
            release.complete(Unit)
            assertEquals(token, first.await().getOrThrow().participantToken)
            assertEquals(token, second.await().getOrThrow().participantToken)
            assertEquals(CacheEvent.Stored(false), observer.take(1).single().first)
            assertEquals(1, calls.get())
        }
    }

    @Test
    fun cancellingTheCallerDoesNotCancelTheUpstreamFetch() = test {
        val entered = CountDownLatch(1)
        val release = CompletableDeferred<Unit>()
        val token = Jwt.expiringIn(3600)
        val source = TokenSource.fromCustom {
            entered.countDown()
            release.await()
            Result.success(TokenSourceResponse(URL, token))
        }
        val observer = RecordingObserver()
        source.native.observeCache(observer).use {
            val caller = launch(Dispatchers.Default) { source.fetch(TokenRequestOptions()) }
            entered.awaitOrFail("the upstream call")
            caller.cancelAndJoin() // uniffi does not forward this cancellation to Rust
            release.complete(Unit)
            assertEquals(
                listOf(CacheEvent.Miss(MissReason.NOT_CACHED), CacheEvent.Stored(false)),
                observer.take(2).map { it.first },
            )
            assertEquals(token, source.cachedResponse()?.participantToken)
        }
    }

    @Test
    fun aFetchInFlightDuringInvalidateIsDiscarded() = test {
        val entered = CountDownLatch(1)
        val release = CompletableDeferred<Unit>()
        val token = Jwt.expiringIn(3600)
        val source = TokenSource.fromCustom {
            entered.countDown()
            release.await()
            Result.success(TokenSourceResponse(URL, token))
        }
        val observer = RecordingObserver()
        source.native.observeCache(observer).use {
            val fetch = async(Dispatchers.Default) { source.fetch(TokenRequestOptions()) }
            entered.awaitOrFail("the upstream call")
            source.invalidate()
            release.complete(Unit)
            assertEquals(token, fetch.await().getOrThrow().participantToken, "the waiter still gets its result")
            assertEquals(
                listOf(CacheEvent.Miss(MissReason.NOT_CACHED), CacheEvent.Invalidated, CacheEvent.Discarded),
                observer.take(3).map { it.first },
            )
            assertNull(source.cachedResponse())
        }
    }

    @Test
    fun refreshAheadRefreshesInTheBackground() = test {
        val counting = CountingSource(validForSeconds = 600)
        // Served until 1 s before expiry; refreshed once inside the last hour of that.
        val source = counting.source.withCache(capacity = 1, expiryMargin = 1.seconds, refreshAhead = 1.hours)
        val observer = RecordingObserver()
        source.native.observeCache(observer).use {
            val first = source.fetch(TokenRequestOptions()).getOrThrow().participantToken
            assertEquals(first, source.fetch(TokenRequestOptions()).getOrThrow().participantToken, "served from the cache meanwhile")
            assertEquals(
                listOf(
                    CacheEvent.Miss(MissReason.NOT_CACHED),
                    CacheEvent.Stored(false),
                    CacheEvent.Hit,
                    CacheEvent.RefreshStarted,
                    CacheEvent.Stored(true),
                ),
                observer.take(5).map { it.first },
            )
            assertEquals(2, counting.calls.get())
            assertTrue(first != source.cachedResponse()?.participantToken, "the refreshed token is cached")
        }
    }

    @Test
    fun cacheEventsFlowEmitsUntilCancelled() = test {
        val source = CountingSource().source
        val received = Channel<CacheEvent>(Channel.UNLIMITED)
        // Unconfined + undispatched: the observer is registered before launch returns.
        val collecting = launch(Dispatchers.Unconfined, start = CoroutineStart.UNDISPATCHED) {
            source.cacheEvents().collect { received.send(it) }
        }
        source.fetch(TokenRequestOptions()).getOrThrow()
        source.fetch(TokenRequestOptions()).getOrThrow()
        source.invalidate()
        val events = withTimeout(WAIT) { List(4) { received.receive() } }
        assertEquals(
            listOf(CacheEvent.Miss(MissReason.NOT_CACHED), CacheEvent.Stored(false), CacheEvent.Hit, CacheEvent.Invalidated),
            events,
        )
        // Each event describes itself (a Rust Display), not `CacheEvent$Hit@1a2b3c`.
        assertEquals(
            listOf("cache miss (not cached)", "stored in the cache", "cache hit", "cache invalidated"),
            events.map { it.toString() },
        )
        collecting.cancelAndJoin()
        source.fetch(TokenRequestOptions()).getOrThrow()
        assertTrue(received.tryReceive().isFailure, "nothing after cancellation")

        // A source without a cache emits nothing, and the flow still ends when cancelled.
        val uncached = TokenSource.fromLiteral(URL, "t")
        val quiet = launch(Dispatchers.Unconfined, start = CoroutineStart.UNDISPATCHED) {
            uncached.cacheEvents().collect { fail("unexpected $it") }
        }
        uncached.fetch(TokenRequestOptions()).getOrThrow()
        quiet.cancelAndJoin()
    }

    @Test
    fun cacheEventsDescribeThemselves() {
        assertEquals("cache hit", CacheEvent.Hit.toString())
        assertEquals("cache miss (expired)", CacheEvent.Miss(MissReason.EXPIRED).toString())
        assertEquals("joined a fetch in flight", CacheEvent.Joined.toString())
        assertEquals("stored in the cache (background refresh)", CacheEvent.Stored(true).toString())
        assertEquals(
            "background refresh failed: the token server answered HTTP 503",
            CacheEvent.Failed(TokenSourceException.Http(503u, ""), true).toString(),
        )
    }
}
