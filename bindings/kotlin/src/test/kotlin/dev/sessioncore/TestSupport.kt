package dev.sessioncore

import com.sun.net.httpserver.HttpServer
import java.net.InetAddress
import java.net.InetSocketAddress
import java.util.Base64
import java.util.concurrent.CountDownLatch
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.test.assertTrue
import kotlin.test.fail
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Rule
import org.junit.rules.Timeout

/** How long any single wait in a test may take before the test fails (never a sleep). */
val WAIT: Duration = 10.seconds

/** Every test class: a hard per-test timeout, so that a hang fails the test instead of CI. */
abstract class FfiTest {
    @get:Rule
    val timeout: Timeout = Timeout(60, TimeUnit.SECONDS)

    /** Runs [block] in `runBlocking` with an overall limit. */
    fun test(block: suspend CoroutineScope.() -> Unit) {
        runBlocking { withTimeout(45.seconds) { block() } }
    }
}

/** The first value of this flow matching [predicate], failing after [WAIT]. */
suspend fun <T> Flow<T>.await(what: String, predicate: (T) -> Boolean): T =
    try {
        withTimeout(WAIT) { first(predicate) }
    } catch (timeout: kotlinx.coroutines.TimeoutCancellationException) {
        fail("timed out waiting for $what")
    }

/** Waits for the latch, failing after [WAIT]. */
fun CountDownLatch.awaitOrFail(what: String) {
    assertTrue(await(WAIT.inWholeMilliseconds, TimeUnit.MILLISECONDS), "timed out waiting for $what")
}

/** Unsigned JWTs with chosen claims: `header.payload.signature`, each part base64url. */
object Jwt {
    private fun part(json: String): String =
        Base64.getUrlEncoder().withoutPadding().encodeToString(json.toByteArray())

    /** A token whose payload is [payloadJson]. */
    fun token(payloadJson: String): String =
        listOf(part("""{"alg":"HS256","typ":"JWT"}"""), part(payloadJson), part("not-a-real-signature"))
            .joinToString(".")

    /** Now, in seconds since the Unix epoch. */
    fun now(): Long = System.currentTimeMillis() / 1000

    /** A token for [identity] that expires in [validForSeconds] (cacheable with the 60 s margin when > 60). */
    fun expiringIn(validForSeconds: Long, identity: String = "alice", extra: String = ""): String =
        token("""{"sub":"$identity","exp":${now() + validForSeconds}$extra}""")

    /** A token that asks LiveKit to dispatch [agentName] (`roomConfig.agents`). */
    fun dispatching(agentName: String): String =
        expiringIn(3600, extra = ""","roomConfig":{"agents":[{"agentName":"$agentName"}]}""")
}

/** A request the test server received. */
class RecordedRequest(
    val method: String,
    val path: String,
    /** Lower-case header names. */
    val headers: Map<String, List<String>>,
    val body: String,
) {
    fun header(name: String): String? = headers[name.lowercase()]?.singleOrNull()
}

/** A reply of the test server. */
class Reply(val status: Int, val body: String, val contentType: String = "application/json")

/**
 * A real HTTP server on 127.0.0.1 (JDK's com.sun.net.httpserver) that records every request and
 * answers with [respond].
 */
class TestHttpServer(@Volatile var respond: (RecordedRequest) -> Reply) : AutoCloseable {
    private val executor: ExecutorService = Executors.newCachedThreadPool()
    private val server: HttpServer =
        HttpServer.create(InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0)
    val requests = LinkedBlockingQueue<RecordedRequest>()

    init {
        server.executor = executor
        server.createContext("/") { exchange ->
            exchange.use {
                val request = RecordedRequest(
                    method = it.requestMethod,
                    path = it.requestURI.toString(),
                    headers = it.requestHeaders.entries.associate { (name, values) -> name.lowercase() to values.toList() },
                    body = it.requestBody.readBytes().decodeToString(),
                )
                requests.add(request)
                val reply = respond(request)
                val bytes = reply.body.toByteArray()
                it.responseHeaders.add("Content-Type", reply.contentType)
                it.sendResponseHeaders(reply.status, if (bytes.isEmpty()) -1 else bytes.size.toLong())
                if (bytes.isNotEmpty()) it.responseBody.write(bytes)
            }
        }
        server.start()
    }

    val baseUrl: String get() = "http://127.0.0.1:${server.address.port}"

    /** The next recorded request, failing after [WAIT]. */
    fun takeRequest(): RecordedRequest =
        requests.poll(WAIT.inWholeMilliseconds, TimeUnit.MILLISECONDS) ?: fail("no request reached the server")

    override fun close() {
        server.stop(0)
        executor.shutdownNow()
    }
}
