//! An on-disk cache of compiled plugins, so a warm start skips Cranelift.
//!
//! Entries are keyed by the component's sha256 and the engine's compatibility
//! hash (wasmtime version and settings). Loading a compiled component is
//! `unsafe` in wasmtime because the bytes are trusted to be its own output, so
//! every entry is signed with HMAC-SHA256 under a random key that this cache
//! created, readable only by its owner; an entry that does not verify is
//! ignored and recompiled, never loaded.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasmtime::component::Component;
use wasmtime::Engine;

use super::loaded::sha256_hex;

type Signer = Hmac<Sha256>;

const KEY_FILE: &str = "cache.key";
const TAG_LEN: usize = 32;

/// A directory of signed, compiled components.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
    key: [u8; 32],
}

impl CompileCache {
    /// Opens (creating if needed) a cache directory and its signing key.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let key_path = dir.join(KEY_FILE);
        let key = match std::fs::read(&key_path) {
            Ok(bytes) if bytes.len() == 32 => bytes,
            _ => {
                let mut bytes = vec![0u8; 32];
                std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
                write_private(&key_path, &bytes)?;
                // Another process may have won the race; use whatever is on disk now.
                std::fs::read(&key_path)?
            }
        };
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "the cache key is not 32 bytes"))?;
        Ok(Self { dir: dir.to_owned(), key })
    }

    /// The default location: `$COEXIST_CACHE_DIR`, else `$XDG_CACHE_HOME/coexist`,
    /// else `~/.cache/coexist`. `None` when none can be found.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("COEXIST_CACHE_DIR") {
            return Some(PathBuf::from(dir));
        }
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
            return Some(PathBuf::from(dir).join("coexist"));
        }
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/coexist"))
    }

    fn entry_path(&self, engine: &Engine, component_bytes: &[u8]) -> PathBuf {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let name = format!("{}-{:016x}.cwasm", sha256_hex(component_bytes), hasher.finish());
        self.dir.join(name)
    }

    fn signer(&self) -> Signer {
        // HMAC accepts keys of any length; 32 bytes always works.
        Signer::new_from_slice(&self.key).expect("HMAC takes any key length")
    }

    /// The cached compilation of `component_bytes`, if a verified entry exists.
    pub fn load(&self, engine: &Engine, component_bytes: &[u8]) -> Option<Component> {
        let file = std::fs::read(self.entry_path(engine, component_bytes)).ok()?;
        if file.len() < TAG_LEN {
            return None;
        }
        let (tag, compiled) = file.split_at(TAG_LEN);
        let mut mac = self.signer();
        mac.update(compiled);
        mac.verify_slice(tag).ok()?;
        // SAFETY: `compiled` carries a valid HMAC under this cache's private
        // key, so it is exactly what `store` wrote from `Component::serialize`
        // of an engine with the same compatibility hash (part of the file
        // name); wasmtime also checks its own version header.
        unsafe { Component::deserialize(engine, compiled) }.ok()
    }

    /// Stores a compilation; failures only cost the next start a recompile.
    pub fn store(&self, engine: &Engine, component_bytes: &[u8], component: &Component) {
        let Ok(compiled) = component.serialize() else { return };
        let mut mac = self.signer();
        mac.update(&compiled);
        let mut file = mac.finalize().into_bytes().to_vec();
        file.extend_from_slice(&compiled);
        let path = self.entry_path(engine, component_bytes);
        if let Err(e) = write_private(&path, &file) {
            tracing::warn!(path = %path.display(), error = %e, "could not write the plugin compile cache");
        }
    }
}

/// Writes atomically (temp file, then rename), readable by the owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut f = options.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::{bundled_plugin, PluginRuntime};

    #[test]
    fn round_trip_and_tampering() {
        let dir = std::env::temp_dir().join(format!("coexist-cache-test-{}", std::process::id()));
        let cache = CompileCache::open(&dir).unwrap();
        let runtime = PluginRuntime::new().unwrap();
        let bytes = bundled_plugin("coexistence").unwrap();
        assert!(cache.load(runtime.engine(), bytes).is_none(), "empty cache");
        let component = Component::new(runtime.engine(), bytes).unwrap();
        cache.store(runtime.engine(), bytes, &component);
        assert!(cache.load(runtime.engine(), bytes).is_some(), "warm cache");

        // A file the cache did not sign is never loaded.
        let path = cache.entry_path(runtime.engine(), bytes);
        let mut file = std::fs::read(&path).unwrap();
        let last = file.len() - 1;
        file[last] ^= 0xff;
        std::fs::write(&path, &file).unwrap();
        assert!(cache.load(runtime.engine(), bytes).is_none(), "tampered entry refused");

        // Another cache (another key) does not trust this one's entries.
        cache.store(runtime.engine(), bytes, &component);
        std::fs::remove_file(dir.join(KEY_FILE)).unwrap();
        let stranger = CompileCache::open(&dir).unwrap();
        assert!(stranger.load(runtime.engine(), bytes).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
