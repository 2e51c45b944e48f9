//! Token source benchmarks, side by side in one run:
//!
//! - `hit`: a cached fetch with the same options, this crate against `livekit-token-source`
//!   0.1.4 (LiveKit's Rust crate), measured by criterion;
//! - `stampede`: 1000 concurrent fetches cycling over 10 option sets while the upstream takes
//!   50 ms: upstream calls and wall time for both;
//! - the same two workloads with `livekit-client` 2.23 (LiveKit JS) in Node, when
//!   `benches/node/node_modules` is installed (`npm ci` there).
//!
//! Run: `cargo bench -p benchmarks --bench token_source`. The summary table at the end is what
//! docs/performance.md records.

use std::{
    future::Future,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use criterion::Criterion;
use livekit_api::access_token::AccessToken;
use token_source::{TokenRequestOptions, TokenSource, TokenSourceResponse};

const URL: &str = "wss://bench.livekit.invalid";
const STAMPEDE_FETCHES: usize = 1000;
const STAMPEDE_OPTION_SETS: usize = 10;
const UPSTREAM_LATENCY: Duration = Duration::from_millis(50);
const STAMPEDE_ROUNDS: usize = 5;

fn token(identity: &str) -> String {
    AccessToken::with_api_key("devkey", "secret")
        .with_identity(identity)
        .with_ttl(Duration::from_secs(3600))
        .to_jwt()
        .expect("minting a token")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime")
}

/// The upstream of LiveKit's Rust crate: a counter and an optional delay.
struct LkUpstream {
    calls: Arc<AtomicUsize>,
    delay: Duration,
}

#[async_trait::async_trait]
impl livekit_token_source::TokenSourceConfigurable for LkUpstream {
    async fn fetch(
        &self,
        _options: &livekit_token_source::TokenSourceFetchOptions,
    ) -> livekit_token_source::TokenSourceResult<livekit_token_source::TokenSourceResponse> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        Ok(livekit_token_source::TokenSourceResponse {
            server_url: URL.to_owned(),
            participant_token: token("bench"),
        })
    }
}

/// This crate's custom source with the same counter and delay.
fn our_source(calls: Arc<AtomicUsize>, delay: Duration) -> TokenSource {
    TokenSource::custom(move |_options: TokenRequestOptions| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok(TokenSourceResponse::new(URL, token("bench")))
        }
    })
}

fn hit_benchmarks(c: &mut Criterion) {
    let runtime = runtime();
    let mut group = c.benchmark_group("hit");

    let calls = Arc::new(AtomicUsize::new(0));
    let ours = our_source(Arc::clone(&calls), Duration::ZERO);
    let options = TokenRequestOptions::new().with_room_name("bench-room");
    runtime.block_on(ours.fetch(&options)).expect("warm-up fetch");
    group.bench_function("token-source", |b| {
        b.to_async(&runtime).iter(|| ours.fetch(&options));
    });
    assert_eq!(calls.load(Ordering::SeqCst), 1, "every fetch after the first must hit");

    let calls = Arc::new(AtomicUsize::new(0));
    let theirs = {
        use livekit_token_source::TokenSourceConfigurable as _;
        LkUpstream { calls: Arc::clone(&calls), delay: Duration::ZERO }.cached()
    };
    let their_options =
        livekit_token_source::TokenSourceFetchOptions::new().with_room_name("bench-room");
    {
        use livekit_token_source::TokenSourceConfigurable as _;
        runtime.block_on(theirs.fetch(&their_options)).expect("warm-up fetch");
        group.bench_function("livekit-token-source", |b| {
            b.to_async(&runtime).iter(|| theirs.fetch(&their_options));
        });
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "every fetch after the first must hit");
    group.finish();
}

struct Stampede {
    upstream_calls: usize,
    wall: Duration,
}

/// Median wall time (and the calls of that round) over a few rounds, each with a fresh source.
fn stampede(mut round: impl FnMut() -> Stampede) -> Stampede {
    let mut rounds: Vec<Stampede> = (0..STAMPEDE_ROUNDS).map(|_| round()).collect();
    rounds.sort_by_key(|r| r.wall);
    rounds.swap_remove(STAMPEDE_ROUNDS / 2)
}

/// Starts `STAMPEDE_FETCHES` concurrent fetches, fetch `i` with option set `i % 10`, and
/// waits for all of them.
fn run_stampede<F>(
    runtime: &tokio::runtime::Runtime,
    calls: &AtomicUsize,
    fetch: impl Fn(usize) -> F,
) -> Stampede
where
    F: Future<Output = ()> + Send + 'static,
{
    runtime.block_on(async {
        let started = Instant::now();
        let tasks: Vec<_> = (0..STAMPEDE_FETCHES).map(|i| tokio::spawn(fetch(i))).collect();
        for task in tasks {
            task.await.expect("task");
        }
        Stampede { upstream_calls: calls.load(Ordering::SeqCst), wall: started.elapsed() }
    })
}

fn our_stampede(runtime: &tokio::runtime::Runtime) -> Stampede {
    let calls = Arc::new(AtomicUsize::new(0));
    let source = our_source(Arc::clone(&calls), UPSTREAM_LATENCY);
    let option_sets: Vec<TokenRequestOptions> = (0..STAMPEDE_OPTION_SETS)
        .map(|i| TokenRequestOptions::new().with_room_name(format!("room-{i}")))
        .collect();
    run_stampede(runtime, &calls, |i| {
        let (source, options) = (source.clone(), option_sets[i % STAMPEDE_OPTION_SETS].clone());
        async move {
            source.fetch(&options).await.expect("fetch");
        }
    })
}

fn their_stampede(runtime: &tokio::runtime::Runtime) -> Stampede {
    use livekit_token_source::{TokenSourceConfigurable as _, TokenSourceFetchOptions};
    let calls = Arc::new(AtomicUsize::new(0));
    let source =
        Arc::new(LkUpstream { calls: Arc::clone(&calls), delay: UPSTREAM_LATENCY }.cached());
    let option_sets: Vec<TokenSourceFetchOptions> = (0..STAMPEDE_OPTION_SETS)
        .map(|i| TokenSourceFetchOptions::new().with_room_name(format!("room-{i}")))
        .collect();
    run_stampede(runtime, &calls, |i| {
        let (source, options) =
            (Arc::clone(&source), option_sets[i % STAMPEDE_OPTION_SETS].clone());
        async move {
            source.fetch(&options).await.expect("fetch");
        }
    })
}

/// The Node baseline's `RESULT {…}` line, if Node and the npm package are installed.
fn node_baseline() -> Option<serde_json::Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("node");
    if !dir.join("node_modules").exists() {
        eprintln!("skipping the LiveKit JS baseline: run `npm ci` in {}", dir.display());
        return None;
    }
    let output =
        std::process::Command::new("node").arg("token-source.mjs").current_dir(&dir).output();
    let output = match output {
        Ok(output) if output.status.success() => output,
        Ok(output) => {
            eprintln!(
                "the LiveKit JS baseline failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            return None;
        }
        Err(error) => {
            eprintln!("could not run node: {error}");
            return None;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    let line = stdout.lines().find_map(|line| line.strip_prefix("RESULT "))?;
    serde_json::from_str(line).ok()
}

/// Criterion's median estimate for `group/function`, in nanoseconds.
fn criterion_median_ns(dir: &Path, group: &str, function: &str) -> Option<f64> {
    let path = dir.join(group).join(function).join("new").join("estimates.json");
    let estimates: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}

fn main() {
    let criterion_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/criterion");
    let mut criterion = Criterion::default()
        .output_directory(&criterion_dir)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    hit_benchmarks(&mut criterion);
    criterion.final_summary();

    let runtime = runtime();
    let ours = stampede(|| our_stampede(&runtime));
    let theirs = stampede(|| their_stampede(&runtime));
    let node = node_baseline();

    let our_hit = criterion_median_ns(&criterion_dir, "hit", "token-source");
    let their_hit = criterion_median_ns(&criterion_dir, "hit", "livekit-token-source");
    let js_hit = node.as_ref().and_then(|n| n["hit_ns"].as_f64());
    let fmt_ns = |ns: Option<f64>| ns.map_or("n/a".to_owned(), |ns| format!("{ns:.1} ns"));
    let ratio = |baseline: Option<f64>| match (baseline, our_hit) {
        (Some(baseline), Some(ours)) => format!("{:.1}×", baseline / ours),
        _ => "n/a".to_owned(),
    };

    println!();
    println!("## Token source: side by side (one run)");
    println!();
    println!(
        "| Workload | token-source (this repo) | livekit-token-source 0.1.4 | livekit-client 2.23 (Node) |"
    );
    println!("|---|---|---|---|");
    println!(
        "| cached hit, same options (median) | {} | {} | {} |",
        fmt_ns(our_hit),
        fmt_ns(their_hit),
        fmt_ns(js_hit)
    );
    println!("| hit: baseline ÷ token-source | 1× | {} | {} |", ratio(their_hit), ratio(js_hit));
    let js_stampede = node.as_ref().map_or("n/a".to_owned(), |n| {
        format!(
            "{} calls, {:.1} ms",
            n["stampede_upstream_calls"].as_u64().unwrap_or_default(),
            n["stampede_wall_ms"].as_f64().unwrap_or_default()
        )
    });
    println!(
        "| stampede: {STAMPEDE_FETCHES} fetches × {STAMPEDE_OPTION_SETS} option sets, 50 ms upstream | {} calls, {:.1} ms | {} calls, {:.1} ms | {js_stampede} |",
        ours.upstream_calls,
        ours.wall.as_secs_f64() * 1000.0,
        theirs.upstream_calls,
        theirs.wall.as_secs_f64() * 1000.0,
    );
    assert_eq!(ours.upstream_calls, STAMPEDE_OPTION_SETS, "single flight: one call per option set");
}
