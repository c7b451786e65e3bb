//! The thread commits run on.
//!
//! On a SQLite file a commit runs on the calling thread from `BEGIN` to the
//! durable `COMMIT` (see `store::direct`): milliseconds that must not hold
//! up an HTTP worker. On PostgreSQL a commit is a chain of statements, each
//! a round trip; on a thread of its own, each answer wakes the commit at
//! once, instead of waiting for a busy HTTP worker to poll it.

use std::future::Future;

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A single-threaded runtime on a thread of its own, or (in unit tests,
/// which commit one group at a time) the caller's runtime.
pub(crate) struct WriterThread {
    handle: Handle,
    /// Dropping it ends the thread; what it ran has settled by then.
    _stop: Option<oneshot::Sender<()>>,
}

impl WriterThread {
    /// Starts the `coexist-writer` thread.
    pub fn start() -> std::io::Result<Self> {
        let (stop, stopped) = oneshot::channel::<()>();
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new().name("coexist-writer".into()).spawn(move || {
            let runtime = match Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = handle_tx.send(Err(e));
                    return;
                }
            };
            let _ = handle_tx.send(Ok(runtime.handle().clone()));
            runtime.block_on(async move {
                let _ = stopped.await;
            });
        })?;
        let handle = handle_rx.recv().map_err(std::io::Error::other)??;
        Ok(Self { handle, _stop: Some(stop) })
    }

    /// Runs commits on `handle`'s runtime instead.
    pub fn on(handle: Handle) -> Self {
        Self { handle, _stop: None }
    }

    pub fn spawn<F>(&self, commit: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(commit)
    }
}
