//! The crate's tokio runtime: every exported async call and every observer task runs here.

use std::{future::Future, sync::OnceLock};

use tokio::runtime::Runtime;

/// The runtime, created on first use.
pub(crate) fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("session-ffi")
            .enable_all()
            .build()
            .expect("the FFI runtime must start: there is no way to run without it")
    })
}

/// Runs `future` on the crate's runtime and waits for it, so that it (and everything it spawns)
/// sees a multi-thread runtime whatever the foreign executor polling the result is.
pub(crate) async fn run<F>(future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match runtime().spawn(future).await {
        Ok(output) => output,
        // The task is never aborted; a panic in it is re-raised here, in the caller.
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}
