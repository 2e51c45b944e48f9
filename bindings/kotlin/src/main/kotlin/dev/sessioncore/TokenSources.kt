@file:JvmName("TokenSources")

package dev.sessioncore

import dev.sessioncore.bindings.CacheEvent
import dev.sessioncore.bindings.CacheObserver
import dev.sessioncore.bindings.TokenRequestOptions
import dev.sessioncore.bindings.TokenSource
import dev.sessioncore.bindings.TokenSourceConfigurable
import dev.sessioncore.bindings.TokenSourceException
import dev.sessioncore.bindings.TokenSourceResponse
import java.net.URL
import kotlin.coroutines.cancellation.CancellationException
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow

// Kotlin conveniences over the generated `dev.sessioncore.bindings.TokenSource`.
//
// Everything here delegates to the Rust implementation (caching, single flight, HTTP, JSON,
// redaction all live in Rust); these functions only adapt Kotlin idioms: `Result`, `suspend`
// lambdas, `Flow` and `kotlin.time.Duration`.
//
// Threading: every suspend function here may be called from any dispatcher; a cache hit is
// answered on the calling thread, other work runs on the Rust runtime's threads and the coroutine
// is resumed through its own dispatcher. Coroutine
// cancellation is NOT forwarded to Rust: cancelling a coroutine suspended in `fetch` stops the
// wait, while the upstream fetch it started still completes (and is cached) in Rust.

/**
 * A token source backed by your own suspend function, like LiveKit Android's
 * `TokenSource.fromCustom`. Responses are cached by the Rust cache (one entry, reused until 60 s
 * before the token's `exp`, for equal [TokenRequestOptions]; a token that is not a JWT with an
 * `exp` claim is fetched again every time); concurrent fetches for equal options share one call
 * of [block].
 *
 * ```
 * val tokenSource = TokenSource.fromCustom { options ->
 *     val participantToken = myBackend.token(options.roomName, options.participantName, options.agentName)
 *     return@fromCustom Result.success(TokenSourceResponse(LIVEKIT_URL, participantToken))
 * }
 * ```
 *
 * [block] runs in a coroutine started by the bindings (on `Dispatchers.Default`), not in the
 * caller's coroutine. Failures reach callers of [TokenSource.fetch] as [TokenSourceException]:
 * - a [TokenSourceException] (returned as `Result.failure` or thrown) passes through unchanged,
 *   e.g. `TokenSourceException.Http(403u, "denied")`;
 * - any other failure becomes [TokenSourceException.Custom] whose `reason` is the failure's
 *   `toString()` (so errors never leave a fetch waiting forever);
 * - a [CancellationException] is rethrown: the bindings cancel [block] when Rust drops the fetch.
 *   (A `withTimeout` inside [block] that expires still fails the fetch, as
 *   [TokenSourceException.Custom].)
 *
 * Never put the token into an exception message: messages reach logs.
 */
fun TokenSource.Companion.fromCustom(
    block: suspend (options: TokenRequestOptions) -> Result<TokenSourceResponse>,
): TokenSource = TokenSource.custom(ResultTokenSourceConfigurable(block))

/**
 * A token source backed by your implementation of the generated [TokenSourceConfigurable]
 * interface (the Kotlin face of Swift's `TokenSourceConfigurable` protocol), cached like
 * [fromCustom]'s lambda form.
 *
 * ```
 * class MyTokenSource(private val backend: Backend) : TokenSourceConfigurable {
 *     override suspend fun fetch(options: TokenRequestOptions): TokenSourceResponse =
 *         TokenSourceResponse(LIVEKIT_URL, backend.token(options.roomName))
 * }
 * val tokenSource = TokenSource.fromCustom(MyTokenSource(backend))
 * ```
 *
 * Exceptions thrown by [source] are mapped as described in the lambda form: typed
 * [TokenSourceException]s pass through, anything else becomes [TokenSourceException.Custom].
 */
fun TokenSource.Companion.fromCustom(source: TokenSourceConfigurable): TokenSource =
    TokenSource.custom(ResultTokenSourceConfigurable { options -> Result.success(source.fetch(options)) })

/**
 * Fixed credentials (LiveKit Android's `TokenSource.fromLiteral`). Not cached: wrap it with
 * [TokenSource.withCache] to cache a JWT with an `exp` claim.
 */
fun TokenSource.Companion.fromLiteral(serverUrl: String, participantToken: String): TokenSource =
    TokenSource.literal(serverUrl, participantToken)

/**
 * A standard token endpoint (LiveKit Android's `TokenSource.fromEndpoint`), cached. Each fetch
 * sends the options as the standard JSON request body (snake_case keys, unset fields omitted,
 * agent fields under `room_config.agents[0]`) with `Content-Type: application/json` plus
 * [headers], and parses the standard JSON response. Header values never appear in errors or logs.
 *
 * @param method the HTTP method (the JSON body is sent whatever the method).
 * @param timeout the limit for a whole request (connect, send, read the body).
 * @throws TokenSourceException.Configuration if [method] is not a valid HTTP method. An invalid
 *   URL or header is reported by every fetch, as [TokenSourceException.Configuration].
 * @throws IllegalArgumentException if [timeout] is negative.
 */
@Throws(TokenSourceException::class)
fun TokenSource.Companion.fromEndpoint(
    url: String,
    method: String = "POST",
    headers: Map<String, String> = emptyMap(),
    timeout: Duration = 10.seconds,
): TokenSource = TokenSource.endpoint(url, method, headers, timeout.toMillisULong())

/** [fromEndpoint] with a [URL]. */
@Throws(TokenSourceException::class)
fun TokenSource.Companion.fromEndpoint(
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
fun TokenSource.Companion.fromDevelopmentTokenServer(
    sandboxId: String,
    baseUrl: String? = null,
): TokenSource = TokenSource.developmentTokenServer(sandboxId, baseUrl)

/** [fromDevelopmentTokenServer] under LiveKit Android's name, `fromSandboxTokenServer`. */
fun TokenSource.Companion.fromSandboxTokenServer(
    sandboxId: String,
    baseUrl: String? = null,
): TokenSource = TokenSource.sandboxTokenServer(sandboxId, baseUrl)

/**
 * [TokenSource.fetch] as a [Result], for `if (result.isFailure)` style code. A failure is always
 * a [TokenSourceException]; anything else (for example using a closed source, an
 * `IllegalStateException`) and [CancellationException] are thrown, not wrapped. (A cache hit is
 * answered in Rust without leaving the calling thread; [TokenSource.fetchCached] is the
 * synchronous variant, which returns `null` instead of calling the source.)
 */
suspend fun TokenSource.fetchResult(
    options: TokenRequestOptions = TokenRequestOptions(),
): Result<TokenSourceResponse> =
    try {
        Result.success(fetch(options))
    } catch (error: TokenSourceException) {
        Result.failure(error)
    }

/**
 * The cache's events ([CacheEvent.Hit], [CacheEvent.Miss], [CacheEvent.Stored], …) as a cold
 * [Flow]: collecting registers a [CacheObserver] through [TokenSource.observeCache]; cancelling
 * the collection cancels its [dev.sessioncore.bindings.TaskHandle]. A source without a cache
 * (see [TokenSource.isCached]) emits nothing.
 *
 * Events are produced on the thread that caused them: upstream fetch events on the Rust runtime's
 * threads, [CacheEvent.Hit] on the thread that called `fetch` (a hit is answered synchronously),
 * [CacheEvent.Invalidated] on the thread that called [TokenSource.invalidate]. They are buffered
 * without bound and delivered in the order they were produced, in the collector's context. The
 * observer is registered when collection starts: events before that are not replayed.
 */
fun TokenSource.cacheEvents(): Flow<CacheEvent> =
    callbackFlow {
        val handle = observeCache(
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

/**
 * Adapts a `Result`-returning suspend function to the generated [TokenSourceConfigurable]
 * interface, mapping failures to [TokenSourceException] (see [TokenSource.Companion.fromCustom]).
 */
internal class ResultTokenSourceConfigurable(
    private val block: suspend (options: TokenRequestOptions) -> Result<TokenSourceResponse>,
) : TokenSourceConfigurable {
    override suspend fun fetch(options: TokenRequestOptions): TokenSourceResponse {
        val result =
            try {
                block(options)
            } catch (error: Throwable) {
                Result.failure(error)
            }
        return result.getOrElse { throw it.asTokenSourceFailure() }
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
    require(!isNegative()) { "the timeout must not be negative" }
    return inWholeMilliseconds.toULong()
}
