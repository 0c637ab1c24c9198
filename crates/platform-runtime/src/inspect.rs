//! Checks a module's bytes before the compiler sees them, then hands them to the one rewrite
//! every module goes through ([`crate::rewrite`]: limits capped, fuel metering written in).

use wasmparser::{Parser, Payload, Validator, WasmFeatures};

use crate::error::RuntimeError;

/// The WebAssembly features a module may use: WebAssembly 2.0, SIMD included but not relaxed
/// SIMD (non-deterministic by design), threads, memory64 or anything newer. Float SIMD operators
/// are refused by the rewrite ([`crate::nan`]): integer SIMD is deterministic, float SIMD would
/// let NaN bits out through vector stores and lane operations.
pub(crate) fn allowed_features() -> WasmFeatures {
    WasmFeatures::WASM2
}

/// Most functions a module run in the nested sandbox may define. Compiling costs time per
/// function whatever its size (60 000 one-line functions, 650 KB, took 3.8 s to compile here),
/// so a miner's module is bounded by shape before it is compiled; the example agents define
/// 16 to 55.
pub const MAX_NESTED_FUNCTIONS: u32 = 1_024;

/// Largest function body, in bytes, a module run in the nested sandbox may define (the example
/// agents' largest is about 3 KB).
pub const MAX_NESTED_BODY_BYTES: u64 = 64 * 1024;

/// Which imports a module may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ImportRule {
    /// A challenge module: functions from the host-function whitelist only.
    Whitelist(&'static [&'static str]),
    /// A miner module run in the nested sandbox: no imports at all.
    None,
}

/// Validates `wasm`, checks its imports against `rule`, and returns it rewritten: memories capped
/// at `memory_pages_max`, tables at [`crate::MAX_TABLE_ELEMENTS`], every function metered.
pub(crate) fn inspect(wasm: &[u8], rule: ImportRule, memory_pages_max: u32) -> Result<Vec<u8>, RuntimeError> {
    let invalid = |e: wasmparser::BinaryReaderError| RuntimeError::InvalidModule(one_line(&e.to_string()));
    Validator::new_with_features(allowed_features()).validate_all(wasm).map_err(invalid)?;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(invalid)? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(invalid)?;
                    check_import(import.module, import.name, &import.ty, rule)?;
                }
            }
            Payload::CodeSectionStart { count, .. } if rule == ImportRule::None && count > MAX_NESTED_FUNCTIONS => {
                return Err(RuntimeError::InvalidModule(format!(
                    "{count} functions: a nested module may define at most {MAX_NESTED_FUNCTIONS}"
                )));
            }
            Payload::CodeSectionEntry(body)
                if rule == ImportRule::None && body.range().end - body.range().start > MAX_NESTED_BODY_BYTES =>
            {
                return Err(RuntimeError::InvalidModule(format!(
                    "a function body of {} bytes: a nested module's may be at most {MAX_NESTED_BODY_BYTES}",
                    body.range().end - body.range().start
                )));
            }
            Payload::StartSection { .. } => {
                return Err(RuntimeError::InvalidModule(
                    "start functions are not allowed: they would run before the fuel budget is set".into(),
                ));
            }
            _ => {}
        }
    }
    crate::rewrite::rewrite(wasm, memory_pages_max)
}

/// Error text on one line (wasmparser's messages can span several).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn check_import(module: &str, name: &str, ty: &wasmparser::TypeRef, rule: ImportRule) -> Result<(), RuntimeError> {
    let refuse = |reason: &str| {
        Err(RuntimeError::ForbiddenImport {
            module: module.to_owned(),
            name: name.to_owned(),
            reason: reason.to_owned(),
        })
    };
    match rule {
        ImportRule::None => refuse("modules run in the nested sandbox may not import anything"),
        ImportRule::Whitelist(names) => {
            if module != crate::host::IMPORT_MODULE {
                return refuse("only the `platform` host module can be imported");
            }
            if !matches!(ty, wasmparser::TypeRef::Func(_)) {
                return refuse("only functions can be imported (memory, tables and globals are the module's own)");
            }
            if !names.contains(&name) {
                return refuse("not a host function of this ABI version (see docs/runtime-abi.md)");
            }
            Ok(())
        }
    }
}
