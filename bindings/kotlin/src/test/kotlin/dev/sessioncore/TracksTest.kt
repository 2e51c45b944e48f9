package dev.sessioncore

import dev.sessioncore.bindings.AgentState
import dev.sessioncore.bindings.ChatResponder
import dev.sessioncore.bindings.ConnectionState
import dev.sessioncore.bindings.Script
import dev.sessioncore.bindings.SessionEvent
import dev.sessioncore.bindings.SessionOptions
import dev.sessioncore.bindings.TrackKind
import dev.sessioncore.bindings.TrackReference
import dev.sessioncore.bindings.TrackSource
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.launch

/** Tracks through the `Session` flows, on scripted rooms. */
class TracksTest : FfiTest() {
    private val literal = TokenSource.fromLiteral("wss://scripted.invalid", Jwt.expiringIn(3600))

    /** Plays the script named by the chat text, so each step runs when the test asks for it. */
    private class Steps(private val steps: Map<String, Script>) : ChatResponder {
        override fun reply(text: String): Script = steps.getValue(text)
    }

    /** An agent with a voice, an avatar worker with a camera, and chat commands for the rest. */
    private fun voiceAndAvatar(): Script =
        Script()
            .withAgentInRoom("agent", withMicrophone = true)
            .avatarJoins("avatar")
            .onChat(
                Steps(
                    mapOf(
                        "mute" to Script().muteTrack("agent", TrackSource.MICROPHONE),
                        "unmute" to Script().unmuteTrack("agent", TrackSource.MICROPHONE),
                        "share" to Script().publishTrack("agent", TrackSource.SCREEN_SHARE),
                        "unpublish" to Script().unpublishTrack("avatar", TrackSource.CAMERA),
                    ),
                ),
            )

    private fun List<TrackReference>.of(identity: String, source: TrackSource): TrackReference? =
        singleOrNull { it.participantIdentity == identity && it.source == source }

    @Test
    fun anAgentWithAVoiceAndAnAvatar() = test {
        Session.scripted(literal, voiceAndAvatar()).use { session ->
            assertEquals(emptyList(), session.tracks.value)
            assertNull(session.agent.value.audioTrack)
            assertNull(session.agent.value.videoTrack)

            assertTrue(session.start().isSuccess)
            val agent = session.agent.await("the agent's voice and avatar") {
                it.state == AgentState.LISTENING && it.audioTrack?.subscribed == true && it.videoTrack?.subscribed == true
            }
            val voice = assertNotNull(agent.audioTrack)
            assertEquals("agent", voice.participantIdentity)
            assertEquals(TrackSource.MICROPHONE, voice.source)
            assertEquals(TrackKind.AUDIO, voice.kind)
            assertFalse(voice.muted)
            assertFalse(voice.isLocal)
            val avatar = assertNotNull(agent.videoTrack)
            assertEquals("avatar", avatar.participantIdentity, "the avatar worker publishes on the agent's behalf")
            assertEquals(TrackSource.CAMERA, avatar.source)
            assertEquals(TrackKind.VIDEO, avatar.kind)

            // The list: the agent's voice, the avatar's camera and the local microphone.
            val tracks = session.tracks.await("three tracks") { list ->
                list.size == 3 && list.all { it.subscribed }
            }
            assertEquals(voice, tracks.of("agent", TrackSource.MICROPHONE))
            assertEquals(avatar, tracks.of("avatar", TrackSource.CAMERA))
            val microphone = assertNotNull(session.microphoneTrack())
            assertTrue(microphone.isLocal)
            assertEquals(TrackSource.MICROPHONE, microphone.source)
            assertFalse(microphone.muted, "microphoneEnabled is true by default")
            assertEquals(microphone, tracks.single { it.isLocal })
            assertEquals(setOf(voice.sid, avatar.sid, microphone.sid), tracks.map { it.sid }.toSet())

            // Muting keeps the track's place.
            session.send("mute")
            val muted = session.tracks.await("the voice muted") { it.of("agent", TrackSource.MICROPHONE)?.muted == true }
            assertEquals(tracks.map { it.sid }, muted.map { it.sid })
            assertEquals(true, session.agent.await("the agent's voice muted") { it.audioTrack?.muted == true }.audioTrack?.muted)
            session.send("unmute")
            session.agent.await("the agent's voice unmuted") { it.audioTrack?.muted == false }

            // Unpublishing removes it: the agent has no video any more.
            session.send("unpublish")
            val left = session.tracks.await("the camera unpublished") { it.size == 2 }
            assertNull(left.of("avatar", TrackSource.CAMERA))
            session.agent.await("no video") { it.videoTrack == null }
            assertEquals(voice.sid, session.agent.value.audioTrack?.sid)

            session.endAndWait()
            session.tracks.await("no tracks once disconnected") { it.isEmpty() }
            session.agent.await("no voice once disconnected") { it.audioTrack == null && it.videoTrack == null }
            assertNull(session.microphoneTrack())
        }
    }

    @Test
    fun theTracksQueryFiltersBySourceAndSubscription() = test {
        Session.scripted(literal, voiceAndAvatar(), options = SessionOptions(microphoneEnabled = false)).use { session ->
            val cameras = Channel<List<TrackReference>>(Channel.UNLIMITED)
            val collecting = launch(Dispatchers.Unconfined, start = CoroutineStart.UNDISPATCHED) {
                session.tracks(listOf(TrackSource.CAMERA), onlySubscribed = true).collect { cameras.send(it) }
            }
            assertEquals(emptyList(), cameras.receive())

            assertTrue(session.start().isSuccess)
            session.connectionState.await("connected") { it == ConnectionState.CONNECTED }
            var camera = cameras.receive()
            while (camera.isEmpty()) camera = cameras.receive()
            assertEquals(listOf("avatar"), camera.map { it.participantIdentity })
            assertNull(session.microphoneTrack(), "the microphone is not published")

            session.send("share")
            session.tracks.await("the screen share") { it.of("agent", TrackSource.SCREEN_SHARE)?.subscribed == true }
            val voices = session.tracks(listOf(TrackSource.MICROPHONE, TrackSource.SCREEN_SHARE), onlySubscribed = true)
            session.tracks.await("three tracks") { it.size == 3 }
            val all = session.tracks.value
            assertEquals(all.filter { it.source != TrackSource.CAMERA }, voices.awaitValue())
            assertEquals(all, session.tracks(emptyList(), onlySubscribed = false).awaitValue())
            assertTrue(all.all { it.matches(emptyList(), false) })
            assertFalse(all.single { it.source == TrackSource.CAMERA }.matches(listOf(TrackSource.MICROPHONE), false))
            assertFalse(all.first().copy(subscribed = false).matches(emptyList(), true))

            session.send("unpublish")
            var afterUnpublish = cameras.receive()
            while (afterUnpublish.isNotEmpty()) afterUnpublish = cameras.receive()
            collecting.cancelAndJoin()
            session.endAndWait()
        }
    }

    @Test
    fun theTrackOperationsArriveAsEventsAndRebuildTheList() = test {
        Session.scripted(literal, voiceAndAvatar()).use { session ->
            val events = Channel<SessionEvent>(Channel.UNLIMITED)
            val collecting = launch(Dispatchers.Unconfined, start = CoroutineStart.UNDISPATCHED) {
                session.events.collect { events.send(it) }
            }
            assertTrue(session.start().isSuccess)
            session.tracks.await("three tracks") { it.size == 3 }
            session.send("mute")
            session.send("unpublish")
            val final = session.tracks.await("muted, then the camera unpublished") { list ->
                list.size == 2 && list.of("agent", TrackSource.MICROPHONE)?.muted == true
            }

            // Every operation, applied in order to an empty list, gives the same list.
            val seen = mutableListOf<SessionEvent>()
            val rebuilt = mutableListOf<TrackReference>()
            while (rebuilt != final || seen.none { it is SessionEvent.TrackRemoved }) {
                val event = events.receive()
                seen += event
                when (event) {
                    is SessionEvent.TrackInserted -> rebuilt.add(event.index.toInt(), event.track)
                    is SessionEvent.TrackReplaced -> rebuilt[event.index.toInt()] = event.track
                    is SessionEvent.TrackRemoved -> rebuilt.removeAt(event.index.toInt())
                    is SessionEvent.TracksReset -> {
                        rebuilt.clear()
                        rebuilt.addAll(event.tracks)
                    }
                    else -> {}
                }
            }
            assertIs<SessionEvent.TracksReset>(seen.first { it.isTrackOperation() }, "the first is the current list")
            assertTrue(seen.any { it is SessionEvent.TrackInserted })
            assertTrue(seen.any { it is SessionEvent.TrackReplaced && it.track.muted })
            collecting.cancelAndJoin()
            session.endAndWait()
        }
    }

    private fun SessionEvent.isTrackOperation(): Boolean =
        this is SessionEvent.TrackInserted ||
            this is SessionEvent.TrackReplaced ||
            this is SessionEvent.TrackRemoved ||
            this is SessionEvent.TracksReset
}

/** The flow's value once it has one (the filtered `tracks` flows always have one). */
private suspend fun <T> kotlinx.coroutines.flow.Flow<T>.awaitValue(): T = await("a value") { true }
