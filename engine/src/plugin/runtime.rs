//! The wasmtime side: one [`Engine`] with the pooling allocator and epoch
//! interruption, a ticker thread that advances the epoch every millisecond,
//! and the per-call store limits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter};

use wasmtime::component::Component;

use super::{CompileCache, PluginError};

/// How long one epoch tick lasts; deadlines are whole ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// The largest memory limit a plugin may ask for.
pub const MAX_PLUGIN_MEMORY_MIB: u64 = 1024;

/// Linear memory (and table) bytes kept resident between instances.
const KEEP_RESIDENT_BYTES: usize = 512 << 10;

/// Instances that may be alive at once (every concurrent batch × plugin).
const POOL_INSTANCES: u32 = 256;

/// Owns the wasmtime engine and its epoch ticker. Cloning shares both.
#[derive(Clone)]
pub struct PluginRuntime {
    engine: Engine,
    cache: Option<CompileCache>,
    _ticker: Arc<Ticker>,
}

struct Ticker(Arc<AtomicBool>);

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl PluginRuntime {
    /// Builds the engine: component model, epoch interruption, pooling
    /// allocator sized for [`MAX_PLUGIN_MEMORY_MIB`].
    pub fn new() -> Result<Self, PluginError> {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(POOL_INSTANCES)
            .total_core_instances(POOL_INSTANCES)
            .total_memories(POOL_INSTANCES)
            .total_tables(POOL_INSTANCES)
            .max_memory_size((MAX_PLUGIN_MEMORY_MIB << 20) as usize)
            // A fresh instance per batch would otherwise fault in its memory
            // page by page every time; keeping the first pages resident and
            // zeroing them with memset is much cheaper.
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(KEEP_RESIDENT_BYTES)
            // Where the kernel has PAGEMAP_SCAN (Linux 6.7+), only the pages a
            // batch dirtied are reset, instead of all the resident ones.
            .pagemap_scan(Enabled::Auto);
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            // Explicit bounds checks instead of guard pages: reusing a pooled
            // slot then needs no mprotect, whose TLB shootdowns (an IPI to
            // every core) cost more per batch than the checks do.
            .signals_based_traps(false)
            .memory_guard_size(0)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config)
            .map_err(|e| PluginError::Load { plugin: "(engine)".into(), detail: format!("{e:#}") })?;

        let stop = Arc::new(AtomicBool::new(false));
        let ticking = engine.clone();
        let stopped = stop.clone();
        thread::Builder::new()
            .name("coexist-epoch".into())
            .spawn(move || {
                // Deadlines are counted in ticks; a tick is EPOCH_TICK.
                while !stopped.load(Ordering::Relaxed) {
                    thread::sleep(EPOCH_TICK);
                    ticking.increment_epoch();
                }
            })
            .map_err(|e| PluginError::Load { plugin: "(engine)".into(), detail: format!("epoch thread: {e}") })?;
        Ok(Self { engine, cache: None, _ticker: Arc::new(Ticker(stop)) })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Keeps compiled plugins in `cache`, so later starts skip compiling.
    pub fn with_cache(mut self, cache: CompileCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Compiles a component, or loads its verified compilation from the cache.
    pub fn compile(&self, bytes: &[u8]) -> wasmtime::Result<Component> {
        if let Some(component) = self.cache.as_ref().and_then(|c| c.load(&self.engine, bytes)) {
            return Ok(component);
        }
        let component = Component::new(&self.engine, bytes)?;
        if let Some(cache) = &self.cache {
            cache.store(&self.engine, bytes, &component);
        }
        Ok(component)
    }
}

/// Raised from `memory_growing` so the call fails with a precise cause
/// instead of the guest's allocator turning it into a generic trap.
#[derive(Debug)]
pub(crate) struct MemoryLimitHit {
    pub requested: usize,
}

impl std::fmt::Display for MemoryLimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "memory limit hit growing to {} bytes", self.requested)
    }
}

impl std::error::Error for MemoryLimitHit {}

/// Per-store data: the memory limit of the plugin being called.
pub(crate) struct StoreLimits {
    pub memory_bytes: usize,
}

impl ResourceLimiter for StoreLimits {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            return Err(wasmtime::Error::new(MemoryLimitHit { requested: desired }));
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}
