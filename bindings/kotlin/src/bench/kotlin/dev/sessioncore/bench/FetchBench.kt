package dev.sessioncore.bench

import dev.sessioncore.TokenRequestOptions
import dev.sessioncore.TokenSource
import dev.sessioncore.TokenSourceResponse
import java.util.Base64
import java.util.concurrent.atomic.AtomicInteger
import kotlin.system.exitProcess
import kotlinx.coroutines.runBlocking

/**
 * The Kotlin → Rust round trip of a cached `TokenSource.fetch`: a suspend call through uniffi
 * (Rust future, poll, completion callback through JNA, coroutine resumption, result lifting
 * into a new `TokenSourceResponse` object), answered from the Rust cache.
 *
 * The first rows call the generated API (`TokenSource.native`); the `TokenSource.fetch` row adds
 * the hand-written wrapper's `Result` and `TokenSourceResponse`. For scale, the last row is the cheapest exported call there is (`isCached()`: no arguments, a
 * Boolean result), i.e. the fixed cost of one uniffi call through JNA (a handle clone plus the
 * call, each with a newly allocated `UniffiRustCallStatus` JNA Structure).
 *
 * Per-call time is measured per batch (`batchSize` calls between two `System.nanoTime()`),
 * after a warm-up that lets the JIT compile the path; the median and p90 are over batches.
 * Prints markdown table rows (`| what | median | p90 | calls |`) for scripts/bench-kotlin.
 *
 * Environment: BENCH_WARMUP (calls, default 20000), BENCH_BATCHES (default 200),
 * BENCH_BATCH_SIZE (calls, default 250).
 */
fun main() {
    val warmup = System.getenv("BENCH_WARMUP")?.toInt() ?: 20_000
    val batches = System.getenv("BENCH_BATCHES")?.toInt() ?: 200
    val batchSize = System.getenv("BENCH_BATCH_SIZE")?.toInt() ?: 250
    val token = jwt("""{"sub":"bench","exp":${System.currentTimeMillis() / 1000 + 24 * 3600}}""")
    val options = TokenRequestOptions(roomName = "bench-room", participantIdentity = "bench")

    val literal = TokenSource.fromLiteral("wss://bench.invalid", token).withCache().native
    val upstreamCalls = AtomicInteger()
    val wrapped = TokenSource.fromCustom {
        upstreamCalls.incrementAndGet()
        Result.success(TokenSourceResponse("wss://bench.invalid", token))
    }
    val custom = wrapped.native

    val rows = runBlocking {
        custom.fetch(options) // the only upstream call: every measured fetch is a cache hit
        listOf(
            measure("cached `fetch`, `fromLiteral(…).withCache()` (+ `close()`)", warmup, batches, batchSize) {
                literal.fetch(options).close()
            },
            measure("cached `fetch`, `fromCustom { … }` after its first fetch (+ `close()`)", warmup, batches, batchSize) {
                custom.fetch(options).close()
            },
            measure("cached `fetch` + `participantToken()` + `close()` (what a caller does)", warmup, batches, batchSize) {
                check(custom.fetch(options).use { it.participantToken() } == token)
            },
            measure("cached `fetchCached` (synchronous, + `close()`)", warmup, batches, batchSize) {
                checkNotNull(custom.fetchCached(options)).close()
            },
            measure("cached `TokenSource.fetch` (the LiveKit-shaped wrapper: `Result`, `TokenSourceResponse`) + `.participantToken`", warmup, batches, batchSize) {
                check(wrapped.fetch(options).getOrThrow().participantToken == token)
            },
            measure("floor: one synchronous exported method, `isCached()`", warmup, batches, batchSize) {
                check(custom.isCached())
            },
        )
    }
    if (upstreamCalls.get() != 1) {
        System.err.println("error: the custom source was called ${upstreamCalls.get()} times: the fetches were not cache hits")
        exitProcess(1)
    }
    rows.forEach(::println)
    exitProcess(0)
}

private suspend fun measure(
    what: String,
    warmup: Int,
    batches: Int,
    batchSize: Int,
    call: suspend () -> Unit,
): String {
    repeat(warmup) { call() }
    val perCallMicros = DoubleArray(batches)
    for (batch in 0 until batches) {
        val start = System.nanoTime()
        repeat(batchSize) { call() }
        perCallMicros[batch] = (System.nanoTime() - start) / 1_000.0 / batchSize
    }
    perCallMicros.sort()
    val median = percentile(perCallMicros, 0.50)
    val p90 = percentile(perCallMicros, 0.90)
    return "| $what | %.1f µs | %.1f µs | %d × %d |".format(median, p90, batches, batchSize)
}

/** Nearest-rank percentile of sorted values. */
private fun percentile(sorted: DoubleArray, fraction: Double): Double {
    val rank = kotlin.math.ceil(fraction * sorted.size).toInt().coerceIn(1, sorted.size)
    return sorted[rank - 1]
}

private fun jwt(payload: String): String {
    val encoder = Base64.getUrlEncoder().withoutPadding()
    return listOf("""{"alg":"HS256","typ":"JWT"}""", payload, "signature")
        .joinToString(".") { encoder.encodeToString(it.toByteArray()) }
}
