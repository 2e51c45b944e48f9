//! The offline demo: a local token server, token caching step by step, then a session with a
//! scripted agent.

use std::{
    error::Error,
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use session::{
    AgentState, Script, ScriptedAgent, ScriptedTransport, Session, SessionEvent, SessionEvents,
    SessionOptions,
};
use token_source::{CacheEvent, CacheOptions, ManualClock, TokenRequestOptions, TokenSource};
use tokio::sync::Semaphore;

use crate::render::Renderer;

/// How long any single wait of the demo may take before it gives up.
const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// How many fetches of one new room the demo starts at once.
const CONCURRENT_FETCHES: u32 = 10;

/// Records a source's cache events between two steps.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<CacheEvent>>>);

impl Recorder {
    fn observer(&self) -> impl Fn(&CacheEvent) + Send + Sync + 'static {
        let events = Arc::clone(&self.0);
        move |event| events.lock().unwrap_or_else(|e| e.into_inner()).push(event.clone())
    }

    /// What happened since the last call, as text: `hit`, `miss (expired) → fetched`, …
    fn take(&self) -> String {
        let events = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        let parts: Vec<String> = events
            .iter()
            .map(|event| match event {
                CacheEvent::Hit => "hit".to_owned(),
                CacheEvent::Miss { reason } => format!("miss ({reason})"),
                CacheEvent::Joined => "joined".to_owned(),
                CacheEvent::Stored { .. } => "fetched and cached".to_owned(),
                CacheEvent::Failed { error, .. } => format!("failed: {error}"),
                CacheEvent::Invalidated => "cache cleared".to_owned(),
                other => format!("{other:?}"),
            })
            .collect();
        summarize(&parts)
    }
}

/// Collapses repeats: `["joined", "joined"]` → `joined ×2`.
fn summarize(parts: &[String]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut index = 0;
    while index < parts.len() {
        let run = parts[index..].iter().take_while(|p| **p == parts[index]).count();
        out.push(if run > 1 { format!("{} ×{run}", parts[index]) } else { parts[index].clone() });
        index += run;
    }
    out.join(" → ")
}

fn room(name: &str) -> TokenRequestOptions {
    TokenRequestOptions::new().with_room_name(name).with_participant_identity("alice")
}

/// Part 1: what the cache does, step by step, against the local token endpoint.
pub(crate) async fn token_caching<W: Write>(
    endpoint: &str,
    out: &mut Renderer<W>,
) -> Result<(), Box<dyn Error>> {
    out.line("── 1. Token caching (TokenSource::endpoint → the local token server) ──")?;
    let recorder = Recorder::default();
    let source = TokenSource::endpoint(endpoint);
    let _subscription = source.subscribe(recorder.observer());
    let mut step = async |label: &str, source: &TokenSource, options: &TokenRequestOptions| {
        let result = source.fetch(options).await;
        let outcome = match &result {
            Ok(response) => {
                let identity = response.claims().ok().and_then(|c| c.identity).unwrap_or_default();
                format!("{}  [token for {identity}]", recorder.take())
            }
            Err(error) => format!("{} ({error})", recorder.take()),
        };
        out.line(&format!("  {label:<44} {outcome}"))?;
        result.map(|_| ()).map_err(Box::<dyn Error>::from)
    };
    step("fetch room \"lobby\"", &source, &room("lobby")).await?;
    step("fetch room \"lobby\" again", &source, &room("lobby")).await?;
    step("fetch equal options built anew", &source, &room("lobby")).await?;
    step("fetch room \"support\" (options changed)", &source, &room("support")).await?;
    step("fetch room \"lobby\" (one slot: replaced)", &source, &room("lobby")).await?;
    source.refetch(&room("lobby")).await?;
    out.line(&format!("  {:<44} {}", "refetch room \"lobby\" (forced)", recorder.take()))?;

    // A bigger cache keeps both rooms.
    let recorder = Recorder::default();
    let two = source.clone().with_cache(CacheOptions::new().with_capacity(2));
    let _two = two.subscribe(recorder.observer());
    for name in ["lobby", "support", "lobby", "support"] {
        two.fetch(&room(name)).await?;
    }
    out.line(&format!(
        "  {:<44} {}",
        "capacity 2: lobby, support, lobby, support",
        recorder.take()
    ))?;

    // Expiry, on a clock we control: the server's tokens live an hour.
    let clock = ManualClock::starting_now();
    let recorder = Recorder::default();
    let timed = source.clone().with_cache(CacheOptions::new().with_clock(clock.clone()));
    let _timed = timed.subscribe(recorder.observer());
    timed.fetch(&room("lobby")).await?;
    timed.fetch(&room("lobby")).await?;
    let before = recorder.take();
    clock.advance(Duration::from_secs(59 * 60 + 30));
    timed.fetch(&room("lobby")).await?;
    out.line(&format!("  {:<44} {before}", "fetch twice (an injected clock)"))?;
    out.line(&format!(
        "  {:<44} {}",
        "fetch 59 min 30 s later (expires in 30 s)",
        recorder.take()
    ))?;

    // Ten concurrent fetches of a new room share one request. The request is sent only once the
    // nine others have joined the first, so what is shown never depends on how the tasks are
    // scheduled (on a loaded machine a late fetch could otherwise find the token cached).
    let recorder = Recorder::default();
    let joined = Arc::new(Semaphore::new(0));
    let upstream = source.clone().without_cache();
    let shared = TokenSource::custom({
        let joined = Arc::clone(&joined);
        move |options: TokenRequestOptions| {
            let (upstream, joined) = (upstream.clone(), Arc::clone(&joined));
            async move {
                let all_joined = joined.acquire_many(CONCURRENT_FETCHES - 1);
                let _permits = tokio::time::timeout(STEP_TIMEOUT, all_joined)
                    .await
                    .map_err(|_| "the concurrent fetches did not all join")??;
                Ok(upstream.fetch(&options).await?)
            }
        }
    });
    let _shared = shared.subscribe({
        let observer = recorder.observer();
        move |event| {
            // Recorded before the permit is added: the request it may release comes after.
            observer(event);
            if matches!(event, CacheEvent::Joined) {
                joined.add_permits(1);
            }
        }
    });
    let fetches = (0..CONCURRENT_FETCHES).map(|_| {
        let shared = shared.clone();
        tokio::spawn(async move { shared.fetch(&room("party")).await })
    });
    for fetch in fetches.collect::<Vec<_>>() {
        fetch.await??;
    }
    out.line(&format!("  {:<44} {}", "10 concurrent fetches of room \"party\"", recorder.take()))?;
    Ok(())
}

/// Part 2: a session with a scripted agent, rendered live.
pub(crate) async fn scripted_session<W: Write>(
    endpoint: &str,
    out: &mut Renderer<W>,
) -> Result<(), Box<dyn Error>> {
    out.line("")?;
    out.line("── 2. Session with a scripted agent (no LiveKit server needed) ──")?;
    let script = Script::new()
        .wait(Duration::from_millis(300))
        .agent_joins(ScriptedAgent::new("agent-7f3a").with_name("Demo Agent"))
        .wait(Duration::from_millis(400))
        .agent_state("listening")
        .agent_turn("Hi! I'm a scripted agent. I stream my words as I speak them.")
        .wait(Duration::from_millis(300))
        .user_says("What can you do?")
        .agent_turn("I report my state, stream my transcript, and answer your chat.")
        .on_chat(|text| {
            Script::new()
                .agent_turn(&format!("You wrote \"{text}\". Thanks for trying the quickstart!"))
        });
    let session = Session::with_agent(
        TokenSource::endpoint(endpoint),
        "demo-agent",
        None,
        SessionOptions::new().with_transport(ScriptedTransport::new(script)),
    );
    let mut events = session.subscribe();
    // The subscription starts with the current (disconnected) state: nothing to show yet.
    while events.try_next().is_some() {}
    session.start().await?;
    // The agent's second answer ends its script: then the user types a message.
    let answers = |count: usize| {
        move |event: &SessionEvent, seen: &mut usize| {
            if let SessionEvent::MessageReplaced { message, .. } = event
                && message.is_final
                && message.kind == session::MessageKind::AgentTranscript
            {
                *seen += 1;
            }
            *seen >= count
        }
    };
    render_until(&mut events, out, answers(2)).await?;
    render_until(&mut events, out, |event, _| {
        matches!(event, SessionEvent::AgentChanged(agent) if agent.state == AgentState::Listening)
    })
    .await?;
    out.line("  (the demo types a chat message)")?;
    session.send("Hello from the quickstart!").await?;
    render_until(&mut events, out, answers(1)).await?;
    session.end().await;
    while let Some(event) = events.try_next() {
        out.event(&event)?;
    }
    out.line(&format!("  {} messages kept after end()", session.messages().len()))?;
    Ok(())
}

/// Renders events until `done` says so (it may count with its `usize`).
async fn render_until<W: Write>(
    events: &mut SessionEvents,
    out: &mut Renderer<W>,
    mut done: impl FnMut(&SessionEvent, &mut usize) -> bool,
) -> Result<(), Box<dyn Error>> {
    let mut seen = 0;
    loop {
        let event = tokio::time::timeout(STEP_TIMEOUT, events.next())
            .await
            .map_err(|_| "the scripted agent stopped responding")?
            .ok_or("the session ended")?;
        out.event(&event)?;
        if done(&event, &mut seen) {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use token_server::TokenServerConfig;

    use super::*;

    /// The whole first part against a real token server on 127.0.0.1, a few times on two
    /// worker threads: every line is the same every time, the concurrent fetches included.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn token_caching_prints_the_same_every_time() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}/token", listener.local_addr().unwrap());
        let server = tokio::spawn(token_server::serve(
            listener,
            TokenServerConfig::default(),
            std::future::pending(),
        ));
        for _ in 0..5 {
            check_token_caching(&endpoint).await;
        }
        server.abort();
    }

    async fn check_token_caching(endpoint: &str) {
        let mut output = Vec::new();
        token_caching(endpoint, &mut Renderer::new(&mut output, false)).await.unwrap();
        let output = String::from_utf8(output).unwrap();
        let outcomes: Vec<&str> = output
            .lines()
            .skip(1)
            .map(|line| line.get(47..).unwrap_or_default().split("  [").next().unwrap_or_default())
            .collect();
        assert_eq!(
            outcomes,
            [
                "miss (not cached) → fetched and cached",
                "hit",
                "hit",
                "miss (not cached) → fetched and cached",
                "miss (not cached) → fetched and cached",
                "miss (forced) → fetched and cached",
                "miss (not cached) → fetched and cached → miss (not cached) → fetched and cached → hit ×2",
                "miss (not cached) → fetched and cached → hit",
                "miss (expired) → fetched and cached",
                "miss (not cached) → joined ×9 → fetched and cached",
            ],
            "{output}"
        );
    }

    #[test]
    fn repeats_are_collapsed() {
        let parts: Vec<String> = ["miss (not cached)", "joined", "joined", "fetched and cached"]
            .map(String::from)
            .into();
        assert_eq!(summarize(&parts), "miss (not cached) → joined ×2 → fetched and cached");
        assert_eq!(summarize(&[]), "");
    }
}
