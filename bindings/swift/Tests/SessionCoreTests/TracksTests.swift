import Foundation
import SessionCore
import XCTest

/// Tracks through `Session`'s published properties, on scripted rooms.
final class TracksTests: XCTestCase {
    /// An agent with a voice, an avatar worker with a camera, and chat commands for the rest.
    private func voiceAndAvatar() -> Script {
        Script()
            .withAgentInRoom(identity: "agent", withMicrophone: true)
            .avatarJoins(identity: "avatar")
            .onChat { text in
                switch text {
                case "mute": return Script().muteTrack(identity: "agent", source: .microphone)
                case "unpublish": return Script().unpublishTrack(identity: "avatar", source: .camera)
                default: return Script()
                }
            }
    }

    @MainActor
    func testAnAgentWithAVoiceAndAnAvatar() async throws {
        let session = Session.scripted(voiceAndAvatar())
        XCTAssertEqual(session.tracks, [])
        XCTAssertNil(session.agent.audioTrack)
        XCTAssertNil(session.agent.avatarVideoTrack)

        await session.start()
        try await waitUntil("the agent's voice and avatar") {
            session.agent.audioTrack?.subscribed == true && session.agent.avatarVideoTrack?.subscribed == true
        }
        XCTAssertEqual(session.agent.audioTrack?.participantIdentity, "agent")
        XCTAssertEqual(session.agent.audioTrack?.source, .microphone)
        XCTAssertEqual(session.agent.avatarVideoTrack?.participantIdentity, "avatar")
        XCTAssertEqual(session.agent.avatarVideoTrack?.kind, .video)
        try await waitUntil("three tracks") { session.tracks.count == 3 }
        XCTAssertEqual(session.tracks([.camera], onlySubscribed: true).map(\.participantIdentity), ["avatar"])
        XCTAssertEqual(session.microphoneTrack?.isLocal, true)

        _ = try await session.send("mute")
        try await waitUntil("the voice muted") { session.agent.audioTrack?.muted == true }
        _ = try await session.send("unpublish")
        try await waitUntil("the camera unpublished") { session.tracks.count == 2 }
        XCTAssertNil(session.agent.avatarVideoTrack)
        XCTAssertEqual(session.tracks([.camera], onlySubscribed: false), [])

        await session.end()
        try await waitUntil("no tracks once disconnected") { session.tracks.isEmpty }
        XCTAssertNil(session.microphoneTrack)
    }
}
