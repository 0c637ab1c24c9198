//! Compiles `proto/platform_network/v1/*.proto` with the pure-Rust `protox` compiler (no `protoc`
//! needed) and generates prost types, which stay private to this crate.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time, not with env!(): a build-script binary cached by a clone elsewhere must
    // not compile that clone's files.
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto").canonicalize()?;
    let names = ["envelope", "challenge", "work", "consensus", "sync"];
    let files = names.map(|name| root.join(format!("platform_network/v1/{name}.proto")));
    // Relative to this package, not absolute: cargo keeps one fingerprint for a workspace's
    // build script whichever clone built it into a shared target directory, and absolute paths
    // would have it watch the first clone's files for good (a proto changed in another clone
    // then went unnoticed).
    for name in names {
        println!("cargo:rerun-if-changed=../../proto/platform_network/v1/{name}.proto");
    }
    let descriptors = protox::compile(&files, [&root])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
