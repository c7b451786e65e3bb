//! On PostgreSQL, several daemons share the number registry: each hears of
//! every number written, by any of them, and brings its own copies up to
//! date at once — the span the rater reads, and the cached send profile.
//! After (re)connecting, it reloads the whole registry: what was written
//! while it did not listen is not lost.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;

use super::Lifecycle;
use crate::store::NUMBERS_CHANNEL;

/// How long to wait before listening again after the connection failed.
const RETRY: Duration = Duration::from_secs(1);

/// Follows the registry's changes for as long as the runtime runs.
pub fn follow(lifecycle: Arc<Lifecycle>, database_url: String) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = listen(&lifecycle, &database_url).await {
                tracing::warn!(error = %crate::report::chain(&e), "not hearing of numbers other daemons write; retrying");
            }
            tokio::time::sleep(RETRY).await;
        }
    });
}

async fn listen(lifecycle: &Lifecycle, url: &str) -> anyhow::Result<()> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(NUMBERS_CHANNEL).await?;
    // Whatever was written before the listening began.
    lifecycle.load_registry().await?;
    loop {
        match listener.try_recv().await? {
            Some(note) => lifecycle.refresh(note.payload()).await?,
            // The connection was lost and made again: notes may be lost.
            None => {
                lifecycle.load_registry().await?;
            }
        }
    }
}
