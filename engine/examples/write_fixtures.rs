//! Writes the sandbox failure fixtures (`spin.wasm`, `memory-hog.wasm`,
//! `trap.wasm`, `wrong-count.wasm`, `bad-config.wasm`) into a directory, for
//! load tests of a daemon whose pipeline lists them (`bench/plugins.sh sandbox`).
//!
//!     cargo run --release -p coexist-engine --features fixtures --example write_fixtures -- DIR

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".to_owned()));
    std::fs::create_dir_all(&dir)?;
    for name in ["spin", "memory-hog", "trap", "wrong-count", "bad-config"] {
        let bytes = coexist_engine::plugin::fixture_plugin(name).expect("every fixture is built");
        std::fs::write(dir.join(format!("{name}.wasm")), bytes)?;
        println!("{}", dir.join(format!("{name}.wasm")).display());
    }
    Ok(())
}
