@file:JvmName("TokenSources")

package dev.sessioncore

import dev.sessioncore.bindings.CacheEvent
import dev.sessioncore.bindings.CacheObserver
import dev.sessioncore.bindings.TokenClaims
import dev.sessioncore.bindings.TokenSourceException
import java.net.URL
import kotlin.coroutines.cancellation.CancellationException
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import dev.sessioncore.bindings.TokenSource as NativeTokenSource
import dev.sessioncore.bindings.TokenSourceConfigurable as NativeTokenSourceConfigurable
import dev.sessioncore.bindings.TokenSourceResponse as NativeTokenSourceResponse

// LiveKit Android's token API (`io.livekit.android.token`), names and shapes included, over the
// generated `dev.sessioncore.bindings` types. Everything here delegates to Rust (caching, single
// flight, HTTP, JSON, redaction, error wording); these classes only adapt Kotlin idioms:
// `Result`, `suspend` lambdas, properties, `Flow`, `kotlin.time.Duration`, and LiveKit's argument
// order for `TokenSourceResponse`.
//
// Threading: every suspend function here may be called from any dispatcher; a cache hit is
// answered on the calling thread, other work runs on the Rust runtime's threads and the coroutine
// is resumed through its own dispatcher. Coroutine cancellation is NOT forwarded to Rust:
// cancelling a coroutine suspended in `fetch` stops the wait, while the upstream fetch it started
// still completes (and is cached) in Rust.

/**
 * What to ask a token source for (LiveKit Android's `TokenRequestOptions`): every field is
 * optional. The generated record, under this package so that `dev.sessioncore.*` is all an app
 * imports.
 */
typealias TokenRequestOptions = dev.sessioncore.bindings.TokenRequestOptions

/**
 * Credentials for joining a room, like LiveKit Android's `TokenSourceResponse`: the same
 * constructor (`serverUrl, participantToken, roomName, participantName`, the last two optional)
 * and properties.
 *
 * Not a data class, so that [toString] never prints [participantToken]; [equals] and
 * [hashCode] still compare the four properties, and [copy] works as a data class's does. A
 * response that comes from Rust reads each property from the native object once, on first use.
 */
class TokenSourceResponse(
    /** The generated object (`dev.sessioncore.bindings.TokenSourceResponse`) this wraps. */
    val native: NativeTokenSourceResponse,
) {
    /** Credentials in LiveKit Android's argument order. */
    constructor(
        serverUrl: String,
        participantToken: String,
        roomName: String? = null,
        participantName: String? = null,
    ) : this(
        // The generated constructor's order is (serverUrl, participantToken, participantName,
        // roomName): name the arguments, never rely on their order.
        NativeTokenSourceResponse(
            serverUrl = serverUrl,
            participantToken = participantToken,
            participantName = participantName,
            roomName = roomName,
        ),
    )

    /** The LiveKit server URL (`wss://…`). */
    val serverUrl: String by lazy(LazyThreadSafetyMode.PUBLICATION) { native.serverUrl() }

    /** The participant token (a JWT). Never printed by [toString]. */
    val participantToken: String by lazy(LazyThreadSafetyMode.PUBLICATION) { native.participantToken() }

    /** The room name, if the source reported it. */
    val roomName: String? by lazy(LazyThreadSafetyMode.PUBLICATION) { native.roomName() }

    /** The participant name, if the source reported it. */
    val participantName: String? by lazy(LazyThreadSafetyMode.PUBLICATION) { native.participantName() }

    /** Whether the token asks LiveKit to dispatch an agent (`roomConfig.agents`). */
    fun dispatchesAgent(): Boolean = native.dispatchesAgent()

    /** The token's claims, decoded without verifying the signature; `null` if it is not a JWT. */
    fun claims(): TokenClaims? = native.claims()

    /** A copy with some properties replaced, like a data class's `copy`. */
    fun copy(
        serverUrl: String = this.serverUrl,
        participantToken: String = this.participantToken,
        roomName: String? = this.roomName,
        participantName: String? = this.participantName,
    ): TokenSourceResponse = TokenSourceResponse(serverUrl, participantToken, roomName, participantName)

    override fun equals(other: Any?): Boolean =
        other is TokenSourceResponse &&
            serverUrl == other.serverUrl &&
            participantToken == other.participantToken &&
            roomName == other.roomName &&
            participantName == other.participantName

    override fun hashCode(): Int = listOf(serverUrl, participantToken, roomName, participantName).hashCode()

    /** The properties, with the token left out. */
    override fun toString(): String =
        "TokenSourceResponse(serverUrl=$serverUrl, participantToken=<redacted>, roomName=$roomName, " +
            "participantName=$participantName)"
}

/**
 * Your own token source as a class (the Kotlin face of Swift's `TokenSourceConfigurable`
 * protocol); pass it to [TokenSource.fromCustom]. Throw a [TokenSourceException] to report a
 * typed failure; any other exception becomes [TokenSourceException.Custom].
 *
 * ```
 * class MyTokenSource(private val backend: Backend) : TokenSourceConfigurable {
 *     override suspend fun fetch(options: TokenRequestOptions): TokenSourceResponse =
 *         TokenSourceResponse(LIVEKIT_URL, backend.token(options.roomName))
 * }
 * val tokenSource = TokenSource.fromCustom(MyTokenSource(backend))
 * ```
 */
interface TokenSourceConfigurable {
    /** Credentials for [options]. Called on a Rust-owned coroutine, not the caller's. */
    suspend fun fetch(options: TokenRequestOptions): TokenSourceResponse
}

/**
 * Where a session gets its credentials: LiveKit Android's `TokenSource`, created with the same
 * factories ([fromCustom], [fromLiteral], [fromEndpoint], [fromDevelopmentTokenServer],
 * [fromSandboxTokenServer]) and fetched the same way (`fetch(): Result<TokenSourceResponse>`).
 *
 * Custom, endpoint and development-server sources are cached in Rust: a token is reused until
 * 60 s before its `exp` for equal [TokenRequestOptions], and concurrent fetches for equal options
 * share one upstream call. Literal sources are not cached (see [withCache]).
 *
 * Closing releases the native source; a closed source throws [IllegalStateException].
 */
class TokenSource private constructor(
    /** The generated object (`dev.sessioncore.bindings.TokenSource`) this wraps. */
    val native: NativeTokenSource,
) : AutoCloseable {
    /**
     * Fetches credentials for [options] (from the cache when valid), like LiveKit Android's
     * `fetch`. A failure is a [TokenSourceException]; anything else (using a closed source, an
     * `IllegalStateException`) and [CancellationException] are thrown, not wrapped.
     */
    suspend fun fetch(options: TokenRequestOptions = TokenRequestOptions()): Result<TokenSourceResponse> =
        result { native.fetch(options) }

    /** Fetches fresh credentials, bypassing (and then updating) the cache. */
    suspend fun refetch(options: TokenRequestOptions = TokenRequestOptions()): Result<TokenSourceResponse> =
        result { native.refetch(options) }

    /**
     * The cached response for [options] if it is valid, synchronously; `null` where [fetch] would
     * call the source. The cheapest way to get a cached token.
     */
    fun fetchCached(options: TokenRequestOptions = TokenRequestOptions()): TokenSourceResponse? =
        native.fetchCached(options)?.let(::TokenSourceResponse)

    /** Clears the cache (a no-op without one). */
    fun invalidate() {
        native.invalidate()
    }

    /** The most recently cached response, unvalidated. */
    fun cachedResponse(): TokenSourceResponse? = native.cachedResponse()?.let(::TokenSourceResponse)

    /** Whether fetches go through a cache. */
    val isCached: Boolean get() = native.isCached()

    /**
     * The same source with a new cache of [capacity] option sets; a token is not served in the
     * last [expiryMargin] before it expires, and with [refreshAhead] it is refreshed in the
     * background that long before the margin.
     */
    fun withCache(
        capacity: Int = 1,
        expiryMargin: Duration = 60.seconds,
        refreshAhead: Duration? = null,
    ): TokenSource {
        require(capacity >= 1) { "the cache capacity must be at least 1" }
        return TokenSource(
            native.withCache(capacity.toUInt(), expiryMargin.toMillisULong(), refreshAhead?.toMillisULong()),
        )
    }

    /** The same source without a cache. */
    fun withoutCache(): TokenSource = TokenSource(native.withoutCache())

    /**
     * The cache's events ([CacheEvent.Hit], [CacheEvent.Miss], [CacheEvent.Stored], …; each
     * describes itself, e.g. "cache miss (not cached)") as a cold [Flow]: collecting registers an
     * observer; cancelling the collection cancels it. A source without a cache emits nothing.
     *
     * Events are produced on the thread that caused them: upstream fetch events on the Rust
     * runtime's threads, [CacheEvent.Hit] on the thread that called [fetch], and
     * [CacheEvent.Invalidated] on the thread that called [invalidate]. They are buffered without
     * bound and delivered in order, in the collector's context. Events before the collection
     * starts are not replayed.
     */
    fun cacheEvents(): Flow<CacheEvent> =
        callbackFlow {
            val handle = native.observeCache(
                object : CacheObserver {
                    override fun onEvent(event: CacheEvent) {
                        // Never fails: the buffer is unlimited (see below); after close it is dropped.
                        trySend(event)
                    }
                },
            )
            awaitClose {
                handle.cancel()
                handle.close()
            }
        }.buffer(Channel.UNLIMITED)

    /** Releases the native source. */
    override fun close() {
        native.close()
    }

    /** Never the credentials. */
    override fun toString(): String = "TokenSource(cached=$isCached)"

    companion object {
        /**
         * A token source backed by your own suspend function, like LiveKit Android's
         * `TokenSource.fromCustom`. Cached (see [TokenSource]); concurrent fetches for equal
         * options share one call of [block].
         *
         * ```
         * val tokenSource = TokenSource.fromCustom { options ->
         *     val participantToken = myBackend.token(options.roomName, options.participantName, options.agentName)
         *     return@fromCustom Result.success(TokenSourceResponse(LIVEKIT_URL, participantToken))
         * }
         * ```
         *
         * [block] runs in a coroutine started by the bindings (on `Dispatchers.Default`), not in
         * the caller's. Its failures reach [fetch] as [TokenSourceException]:
         * - a [TokenSourceException] (returned as `Result.failure` or thrown) passes through
         *   unchanged, e.g. `TokenSourceException.Http(403u, "denied")`;
         * - any other failure becomes [TokenSourceException.Custom] whose `reason` is the
         *   failure's `toString()` (so errors never leave a fetch waiting forever);
         * - a [CancellationException] is rethrown: the bindings cancel [block] when Rust drops
         *   the fetch. (A `withTimeout` inside [block] that expires still fails the fetch.)
         *
         * A session reports any of these as the custom source failing. Never put the token into
         * an exception message: messages reach logs.
         */
        fun fromCustom(block: suspend (options: TokenRequestOptions) -> Result<TokenSourceResponse>): TokenSource =
            TokenSource(NativeTokenSource.custom(ResultTokenSourceConfigurable(block)))

        /** A token source backed by your [TokenSourceConfigurable], cached like the lambda form. */
        fun fromCustom(source: TokenSourceConfigurable): TokenSource =
            fromCustom { options -> Result.success(source.fetch(options)) }

        /**
         * Fixed credentials (LiveKit Android's `TokenSource.fromLiteral`). Not cached: use
         * [withCache] to cache a JWT with an `exp` claim.
         */
        fun fromLiteral(serverUrl: String, participantToken: String): TokenSource =
            TokenSource(NativeTokenSource.literal(serverUrl, participantToken))

        /**
         * A standard token endpoint (LiveKit Android's `TokenSource.fromEndpoint`), cached. Each
         * fetch sends the options as the standard JSON request body (snake_case keys, unset
         * fields omitted, agent fields under `room_config.agents[0]`) with
         * `Content-Type: application/json` plus [headers], and parses the standard JSON
         * response. Header values never appear in errors or logs.
         *
         * @param method the HTTP method (the JSON body is sent whatever the method).
         * @param timeout the limit for a whole request (connect, send, read the body).
         * @throws TokenSourceException.Configuration if [method] is not a valid HTTP method. An
         *   invalid URL or header is reported by every fetch, as
         *   [TokenSourceException.Configuration].
         * @throws IllegalArgumentException if [timeout] is negative.
         */
        @Throws(TokenSourceException::class)
        fun fromEndpoint(
            url: String,
            method: String = "POST",
            headers: Map<String, String> = emptyMap(),
            timeout: Duration = 10.seconds,
        ): TokenSource = TokenSource(NativeTokenSource.endpoint(url, method, headers, timeout.toMillisULong()))

        /** [fromEndpoint] with a [URL]. */
        @Throws(TokenSourceException::class)
        fun fromEndpoint(
            url: URL,
            method: String = "POST",
            headers: Map<String, String> = emptyMap(),
            timeout: Duration = 10.seconds,
        ): TokenSource = fromEndpoint(url.toString(), method, headers, timeout)

        /**
         * LiveKit Cloud's development token server (formerly "sandbox"), cached: POSTs to
         * `{baseUrl}/api/v2/sandbox/connection-details` with the header `X-Sandbox-ID`. For
         * development only. The sandbox ID never appears in errors or logs.
         *
         * @param baseUrl another server than LiveKit Cloud's (`https://cloud-api.livekit.io`).
         */
        fun fromDevelopmentTokenServer(sandboxId: String, baseUrl: String? = null): TokenSource =
            TokenSource(NativeTokenSource.developmentTokenServer(sandboxId, baseUrl))

        /** [fromDevelopmentTokenServer] under LiveKit Android's older name. */
        fun fromSandboxTokenServer(sandboxId: String, baseUrl: String? = null): TokenSource =
            TokenSource(NativeTokenSource.sandboxTokenServer(sandboxId, baseUrl))

        /** Wraps a source made with the generated API (`dev.sessioncore.bindings.TokenSource`). */
        fun of(native: NativeTokenSource): TokenSource = TokenSource(native)
    }
}

/** [block]'s response as a `Result`: [TokenSourceException] is a failure, anything else is thrown. */
private inline fun result(block: () -> NativeTokenSourceResponse): Result<TokenSourceResponse> =
    try {
        Result.success(TokenSourceResponse(block()))
    } catch (error: TokenSourceException) {
        Result.failure(error)
    }

/**
 * Adapts a `Result`-returning suspend function to the generated interface, mapping failures to
 * [TokenSourceException] (see [TokenSource.Companion.fromCustom]).
 */
internal class ResultTokenSourceConfigurable(
    private val block: suspend (options: TokenRequestOptions) -> Result<TokenSourceResponse>,
) : NativeTokenSourceConfigurable {
    override suspend fun fetch(options: TokenRequestOptions): NativeTokenSourceResponse {
        val result =
            try {
                block(options)
            } catch (error: Throwable) {
                Result.failure(error)
            }
        return result.getOrElse { throw it.asTokenSourceFailure() }.native
    }
}

/**
 * What a custom source's failure becomes on its way to Rust: cancellation and typed errors pass
 * through, anything else is a [TokenSourceException.Custom]. Every `Throwable` is mapped (not only
 * `Exception`s): the generated code catches only `Exception`, and an `Error` escaping it would
 * leave the Rust fetch waiting forever.
 */
internal fun Throwable.asTokenSourceFailure(): Throwable =
    when (this) {
        is CancellationException -> this
        is TokenSourceException -> this
        else -> TokenSourceException.Custom(toString())
    }

private fun Duration.toMillisULong(): ULong {
    require(!isNegative()) { "the duration must not be negative" }
    return inWholeMilliseconds.toULong()
}
