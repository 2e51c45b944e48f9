package dev.sessioncore.compose

import androidx.compose.runtime.AbstractApplier
import androidx.compose.runtime.BroadcastFrameClock
import androidx.compose.runtime.Composable
import androidx.compose.runtime.Composition
import androidx.compose.runtime.Recomposer
import androidx.compose.runtime.snapshots.ObserverHandle
import androidx.compose.runtime.snapshots.Snapshot
import dev.sessioncore.WAIT
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.fail
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.ExecutorCoroutineDispatcher
import kotlinx.coroutines.Job
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout

/**
 * A real Compose composition on the JVM, without a UI: the Compose runtime's [Recomposer] and
 * [Composition] over a node-less applier, driven the way Compose UI drives them on a device.
 *
 * - One "UI thread" (a single-thread dispatcher) composes, applies and runs effects
 *   (`LaunchedEffect`, `collectAsState`), like Android's main thread.
 * - Snapshot writes from any thread (the session's flows are collected into Compose state) are
 *   announced with [Snapshot.sendApplyNotifications] on the UI thread, like Compose UI's global
 *   snapshot manager; the [Recomposer] then schedules a recomposition.
 * - The frame clock is a [BroadcastFrameClock] that sends a frame on the UI thread as soon as
 *   someone waits for one, and counts them ([frames]).
 *
 * Tests observe what the composition saw through values it publishes from `SideEffect` (after
 * each successful composition) and wait for them with bounded timeouts ([awaitValue]); nothing
 * sleeps.
 */
class TestComposition : AutoCloseable {
    private val executor = Executors.newSingleThreadExecutor { runnable -> Thread(runnable, "compose-ui") }
    val ui: ExecutorCoroutineDispatcher = executor.asCoroutineDispatcher()
    private val closed = AtomicBoolean(false)
    private val frameCount = AtomicInteger()
    private val clock = BroadcastFrameClock { onFrameAwaited() }
    private val job = Job()
    private val scope = CoroutineScope(ui + clock + job)
    val recomposer = Recomposer(scope.coroutineContext)
    private val composition = Composition(NodelessApplier, recomposer)
    private val applyNotificationPending = AtomicBoolean(false)
    private val writeObserver: ObserverHandle =
        Snapshot.registerGlobalWriteObserver {
            if (applyNotificationPending.compareAndSet(false, true) && !closed.get()) {
                executor.execute {
                    applyNotificationPending.set(false)
                    Snapshot.sendApplyNotifications()
                }
            }
        }

    init {
        scope.launch { recomposer.runRecomposeAndApplyChanges() }
    }

    /** A waiter appeared (the Recomposer has work): send it a frame on the UI thread. */
    private fun onFrameAwaited() {
        if (closed.get()) return
        executor.execute {
            frameCount.incrementAndGet()
            clock.sendFrame(System.nanoTime())
        }
    }

    /** How many frames the clock has sent. */
    val frames: Int get() = frameCount.get()

    /** Composes [content] on the UI thread (the first composition runs before this returns). */
    fun setContent(content: @Composable () -> Unit) {
        runBlocking(ui) { composition.setContent(content) }
    }

    /** Removes everything from the composition: every remembered object is forgotten. */
    fun dispose() {
        runBlocking(ui) { composition.dispose() }
    }

    /** Runs [block] on the UI thread, as a click handler would. */
    suspend fun <T> onUiThread(block: suspend CoroutineScope.() -> T): T = withContext(ui, block)

    override fun close() {
        if (!composition.isDisposed) dispose()
        closed.set(true)
        writeObserver.dispose()
        recomposer.cancel()
        job.cancel()
        executor.shutdown()
    }

    private object NodelessApplier : AbstractApplier<Unit>(Unit) {
        override fun insertTopDown(index: Int, instance: Unit) = Unit

        override fun insertBottomUp(index: Int, instance: Unit) = Unit

        override fun remove(index: Int, count: Int) = Unit

        override fun move(from: Int, to: Int, count: Int) = Unit

        override fun onClear() = Unit
    }
}

/** The first value of this flow matching [predicate], failing the test after [WAIT]. */
suspend fun <T> StateFlow<T>.awaitValue(what: String, predicate: (T) -> Boolean): T =
    try {
        withTimeout(WAIT) { first(predicate) }
    } catch (timeout: TimeoutCancellationException) {
        fail("timed out waiting for $what; last value: $value")
    }

/** What a composable saw, published from `SideEffect` after each composition that read it. */
class Seen<T>(initial: T) {
    private val flow = MutableStateFlow(initial)
    val value: T get() = flow.value
    /** Every value published, in order. */
    val history = CopyOnWriteArrayList<T>()

    fun publish(value: T) {
        history += value
        flow.value = value
    }

    suspend fun await(what: String, predicate: (T) -> Boolean): T = flow.awaitValue(what, predicate)
}
