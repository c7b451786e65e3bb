//! WAL checkpoints beside the commits, not inside them.
//!
//! SQLite copies the WAL back into the database file (a checkpoint) in the
//! connection whose commit grows the WAL past `wal_autocheckpoint` pages.
//! With the default, 1,000 pages, that was every twenty-odd commits under
//! load, and each such commit took several times as long as the others
//! while its requests waited (BENCHMARKS.md). Here a thread of its own
//! checkpoints every few milliseconds, `PASSIVE`ly: it never blocks the
//! commit connection or a reader. The commit connection keeps a larger
//! threshold, [`WRITER_CHECKPOINT_PAGES`]: by the time the WAL reaches it,
//! this thread has copied nearly all of it, so that checkpoint is short,
//! and, being complete, it lets the next commit start the WAL over, which
//! bounds its size under sustained load.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use rusqlite::Connection;

/// How often the thread checkpoints.
const INTERVAL: Duration = Duration::from_millis(20);

/// The commit connection's own `wal_autocheckpoint` (pages of 4 KiB).
pub(super) const WRITER_CHECKPOINT_PAGES: i64 = 4096;

/// The checkpoint thread; dropping this ends it.
pub(crate) struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts the `coexist-checkpoint` thread on the ledger file at `path`.
    pub fn start(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new().name("coexist-checkpoint".into()).spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                if let Err(e) = checkpoint(&conn) {
                    // The commit connection checkpoints on its own too: a
                    // failed pass here only leaves it more to copy.
                    tracing::debug!(error = %e, "background WAL checkpoint failed");
                }
            }
        })?;
        Ok(Self { _stop: stop })
    }
}

/// One `PASSIVE` checkpoint: copies what no reader still needs, waits for
/// nothing.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}
