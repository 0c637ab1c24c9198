//! Compiles `proto/platform_network/v1/*.proto` with the pure-Rust `protox` compiler (no `protoc`
//! needed) and generates prost types, which stay private to this crate.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time, not with env!(): a build-script binary cached by a clone elsewhere must
    // not compile that clone's files.
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto").canonicalize()?;
    let files = ["envelope", "challenge", "work", "consensus", "sync"]
        .map(|name| root.join(format!("platform_network/v1/{name}.proto")));
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let descriptors = protox::compile(&files, [&root])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
