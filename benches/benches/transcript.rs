//! Transcript ingestion: how fast a session takes in transcription chunks, whether the cost per
//! chunk stays flat as the conversation grows, and how much memory a long session holds.
//!
//! A long agent conversation is simulated on the scripted transport: `SEGMENTS` transcript
//! segments of `CHUNKS_PER_SEGMENT` word-sized chunks each, alternating agent and user, with
//! one subscriber attached (as a UI would be). Chunks go through the whole pipeline: the
//! transport channel, the session task, the message store and the subscriber channel.
//!
//! Run: `cargo bench -p benchmarks --bench transcript`.

use std::time::{Duration, Instant};

use session::{
    DEFAULT_LOCAL_IDENTITY, RoomFact, SEGMENT_ID_ATTRIBUTE, Script, ScriptedTransport, Session,
    SessionEvent, SessionOptions, TRANSCRIPTION_TOPIC,
};
use token_source::{TokenRequestOptions, TokenSource};

const SEGMENTS: usize = 20_000;
const CHUNKS_PER_SEGMENT: usize = 50;
const PHASES: usize = 10;

/// The process's resident memory in bytes (Linux), or 0 where unavailable.
fn resident_bytes() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
            let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(0)
}

fn main() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let transport = ScriptedTransport::new(Script::new());
    let controller = transport.controller();
    let session = Session::with_options(
        TokenSource::literal("wss://bench.invalid", "token"),
        TokenRequestOptions::new(),
        SessionOptions::new().with_transport(transport).with_microphone_enabled(false),
    );
    session.start().await.expect("start");
    let mut events = session.subscribe();
    let baseline = resident_bytes();

    let per_phase = SEGMENTS / PHASES;
    let mut phase_rates = Vec::new();
    let started = Instant::now();
    for phase in 0..PHASES {
        let phase_start = Instant::now();
        for segment in phase * per_phase..(phase + 1) * per_phase {
            let sender = if segment % 2 == 0 { "agent" } else { DEFAULT_LOCAL_IDENTITY };
            let stream_id = format!("stream-{segment}");
            controller.emit(RoomFact::StreamOpened {
                stream_id: stream_id.clone(),
                topic: TRANSCRIPTION_TOPIC.to_owned(),
                sender_identity: sender.to_owned(),
                participant_identity: String::new(),
                attributes: [(SEGMENT_ID_ATTRIBUTE.to_owned(), format!("segment-{segment}"))]
                    .into(),
            });
            for chunk in 0..CHUNKS_PER_SEGMENT {
                controller.emit(RoomFact::StreamChunk {
                    stream_id: stream_id.clone(),
                    text: format!(" w{chunk}"),
                });
            }
            controller.emit(RoomFact::StreamClosed {
                stream_id,
                attributes: Default::default(),
                error: None,
            });
        }
        // Wait until the subscriber has seen the phase's last message finalized.
        let last = (phase + 1) * per_phase - 1;
        loop {
            match events.next().await.expect("session alive") {
                SessionEvent::MessageReplaced { index, message }
                    if index == last && message.is_final =>
                {
                    break;
                }
                _ => {}
            }
        }
        let elapsed = phase_start.elapsed();
        phase_rates.push((per_phase * CHUNKS_PER_SEGMENT) as f64 / elapsed.as_secs_f64());
    }
    let total = started.elapsed();
    let chunks = SEGMENTS * CHUNKS_PER_SEGMENT;
    let retained = resident_bytes().saturating_sub(baseline);
    let messages = session.messages();
    assert_eq!(messages.len(), SEGMENTS, "one message per segment");
    assert!(messages.iter().all(|m| m.is_final));
    let text_bytes: usize = messages.iter().map(|m| m.text.len()).sum();
    drop(messages);

    println!("## Transcript ingestion (one run)");
    println!();
    println!("{SEGMENTS} segments × {CHUNKS_PER_SEGMENT} chunks = {chunks} chunks, one subscriber");
    println!();
    println!("| Measure | Value |");
    println!("|---|---|");
    println!("| total time | {:.2} s |", total.as_secs_f64());
    println!("| throughput | {:.0} chunks/s |", chunks as f64 / total.as_secs_f64());
    println!("| time per chunk | {:.0} ns |", per_chunk_ns(total, chunks));
    println!(
        "| first / last tenth of the session | {:.0} / {:.0} chunks/s (ratio {:.2}) |",
        phase_rates[0],
        phase_rates[PHASES - 1],
        phase_rates[PHASES - 1] / phase_rates[0]
    );
    println!(
        "| resident memory growth over the session | {:.1} MiB |",
        retained as f64 / (1024.0 * 1024.0)
    );
    println!("| of which message text | {:.1} MiB |", text_bytes as f64 / (1024.0 * 1024.0));
    println!("| growth per message | {} bytes |", retained / SEGMENTS);
    session.end().await;
}

fn per_chunk_ns(total: Duration, chunks: usize) -> f64 {
    total.as_nanos() as f64 / chunks as f64
}
