//! Test helpers: a real server on an ephemeral port, raw HTTP requests.

use std::{
    net::SocketAddr,
    process::{ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use livekit_api::access_token::{Claims, TokenVerifier};
use token_server::{ServeError, TokenServerConfig, serve};
use token_source::reqwest::{self, StatusCode, header::HeaderMap};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

/// A token server bound on `127.0.0.1:0`, stopped gracefully by [`TestServer::stop`] (or when
/// dropped).
pub(crate) struct TestServer {
    base: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServeError>>>,
}

impl TestServer {
    /// Binds before spawning, so requests made right away are queued, never refused.
    pub(crate) async fn start(config: TokenServerConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, config, async move {
            let _ = stopped.await;
        }));
        Self { base, shutdown: Some(shutdown), task: Some(task) }
    }

    /// The default (development) configuration.
    pub(crate) async fn dev() -> Self {
        Self::start(TokenServerConfig::default()).await
    }

    /// The URL of `path` (starting with `/`).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Asks for a graceful shutdown and waits for `serve` to return.
    pub(crate) async fn stop(mut self) -> Result<(), ServeError> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.task.take().expect("running").await.expect("the server task panicked")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A raw HTTP answer.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
}

impl Answer {
    /// The body as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| panic!("not JSON: {}", self.text))
    }

    /// The `error` message of a JSON error body.
    pub(crate) fn error(&self) -> String {
        let json = self.json();
        let object = json.as_object().expect("an object");
        assert_eq!(object.len(), 1, "only `error`: {json}");
        object["error"].as_str().expect("a string message").to_owned()
    }

    /// A header as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }
}

/// Sends `method url` with `headers` and `body`.
pub(crate) async fn send(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Answer {
    let mut request = reqwest::Client::new().request(method, url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    let response = request.send().await.expect("the request is answered");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a body");
    Answer { status, headers, text }
}

/// `POST url` with `Content-Type: application/json` and `body`.
pub(crate) async fn post_json(url: &str, body: &str) -> Answer {
    send(reqwest::Method::POST, url, &[("content-type", "application/json")], Some(body.to_owned()))
        .await
}

/// Verifies the signature with the `livekit-server --dev` keys and returns the claims.
pub(crate) fn verify_dev(token: &str) -> Claims {
    TokenVerifier::with_api_key("devkey", "secret").verify(token).expect("a valid dev token")
}

/// The `token-server` binary, started on a free 127.0.0.1 port with only the given arguments
/// and environment variables (nothing inherited), its output captured.
pub(crate) struct Binary {
    child: tokio::process::Child,
    addr: SocketAddr,
    output: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl Binary {
    /// Starts it and waits (bounded) until `/healthz` answers.
    pub(crate) async fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let addr = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_token-server"));
        command
            .env_clear()
            .env("TOKEN_SERVER_ADDR", addr.to_string())
            .envs(env.iter().copied())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("the token-server binary starts");
        let output = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn tokio::io::AsyncRead + Send + Unpin>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = Arc::clone(&output);
            readers.push(tokio::spawn(async move {
                use tokio::io::AsyncBufReadExt as _;
                let mut lines = tokio::io::BufReader::new(pipe).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut output = output.lock().unwrap();
                    output.push_str(&line);
                    output.push('\n');
                }
            }));
        }
        let binary = Self { child, addr, output, readers };
        let health = format!("http://{addr}/healthz");
        let ready = async {
            loop {
                if let Ok(response) = reqwest::get(&health).await
                    && response.status() == 200
                {
                    return;
                }
                tokio::task::yield_now().await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(30), ready).await.is_err() {
            panic!("the binary did not start serving:\n{}", binary.output());
        }
        binary
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Everything the process printed so far.
    pub(crate) fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// `POST /token` with `body`; the status.
    pub(crate) async fn post_token(&self, body: &str) -> StatusCode {
        post_json(&format!("http://{}/token", self.addr), body).await.status
    }

    /// Sends SIGTERM and waits (at most `bound`) for the process to exit and its output to
    /// be read.
    pub(crate) async fn terminate_and_wait(&mut self, bound: Duration) -> ExitStatus {
        let pid = self.child.id().expect("still running").to_string();
        let kill = std::process::Command::new("kill").args(["-TERM", &pid]).status();
        assert!(kill.expect("kill runs").success(), "SIGTERM sent");
        let exited = async {
            let status = self.child.wait().await.expect("waiting for the process");
            for reader in self.readers.drain(..) {
                let _ = reader.await;
            }
            status
        };
        match tokio::time::timeout(bound, exited).await {
            Ok(status) => status,
            Err(_) => panic!("no exit within {bound:?} of SIGTERM:\n{}", self.output()),
        }
    }
}
