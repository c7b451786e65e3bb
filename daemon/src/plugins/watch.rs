//! Reload when the policy files change.
//!
//! Watches the policy directory and the directories of the plugin modules it
//! names (non-recursively). Editors and `cp` write a file in several steps, so
//! a change is only acted on after the files have been quiet for
//! [`QUIET_FOR`]; then one reload runs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use super::PluginHost;

/// How long the files must be quiet before a reload.
const QUIET_FOR: Duration = Duration::from_millis(300);

/// Starts watching `dir` (the `--policies` directory) for the life of the
/// process. Returns the watcher, which stops watching when dropped.
pub fn watch_policy_files(host: Arc<PluginHost>, dir: &Path) -> notify::Result<notify::RecommendedWatcher> {
    let (tx, rx) = mpsc::channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| !e.kind.is_access()) {
            let _ = tx.send(());
        }
    })?;
    for watched in watched_dirs(dir) {
        watcher.watch(&watched, RecursiveMode::NonRecursive)?;
        tracing::info!(dir = %watched.display(), "watching for plugin policy changes");
    }
    std::thread::Builder::new()
        .name("coexist-policy-watch".into())
        .spawn(move || {
            while rx.recv().is_ok() {
                // Wait for the writes to settle; every further event restarts the wait.
                while rx.recv_timeout(QUIET_FOR).is_ok() {}
                // Failures are logged and recorded by `reload`; the old set stays.
                let _ = host.reload("file");
            }
        })
        .map_err(|e| notify::Error::generic(&format!("starting the watch thread: {e}")))?;
    Ok(watcher)
}

/// The policy directory, plus each directory holding a module the pipeline
/// names by path (bundled modules have none).
fn watched_dirs(dir: &Path) -> BTreeSet<PathBuf> {
    let mut dirs = BTreeSet::from([dir.to_owned()]);
    let source = coexist_engine::policy::PolicySource::Dir(dir.to_owned());
    if let Ok(file) = source.read_pipeline() {
        for entry in file.plugin.iter().filter(|p| !p.module.starts_with("bundled:")) {
            if let Some(parent) = dir.join(&entry.module).parent().filter(|p| p.is_dir()) {
                dirs.insert(parent.to_owned());
            }
        }
    }
    dirs
}
