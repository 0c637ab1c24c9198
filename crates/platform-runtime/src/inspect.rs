//! Checks a module's bytes before the compiler sees them, and caps its memory and tables.
//!
//! The policy's memory cap is enforced by rewriting the module's declared maximum: WebAssembly
//! then guarantees `memory.grow` past the cap returns -1, identically on every validator, with no
//! host allocation ever attempted. Tables get the same treatment, so `table.grow` cannot be used
//! as an allocation bomb either.

use wasmer::wasmparser::{Parser, Payload, Validator, WasmFeatures};

use crate::error::RuntimeError;

/// The WebAssembly features a module may use: WebAssembly 2.0 without SIMD (whose NaN results and
/// relaxed forms are not portable), and without threads, memory64 or anything newer.
pub(crate) fn allowed_features() -> WasmFeatures {
    WasmFeatures::WASM2.difference(WasmFeatures::SIMD)
}

/// Largest table a module may declare or grow to, in elements.
pub const MAX_TABLE_ELEMENTS: u64 = 100_000;

/// Which imports a module may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ImportRule {
    /// A challenge module: functions from the host-function whitelist only.
    Whitelist(&'static [&'static str]),
    /// A miner module run in the nested sandbox: no imports at all.
    None,
}

/// Validates `wasm`, checks its imports against `rule`, and returns it with memories capped at
/// `memory_pages_max` and tables at [`MAX_TABLE_ELEMENTS`].
pub(crate) fn inspect(wasm: &[u8], rule: ImportRule, memory_pages_max: u32) -> Result<Vec<u8>, RuntimeError> {
    let invalid = |e: wasmer::wasmparser::BinaryReaderError| RuntimeError::InvalidModule(one_line(&e.to_string()));
    Validator::new_with_features(allowed_features()).validate_all(wasm).map_err(invalid)?;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(invalid)? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(invalid)?;
                    check_import(import.module, import.name, &import.ty, rule)?;
                }
            }
            Payload::StartSection { .. } => {
                return Err(RuntimeError::InvalidModule(
                    "start functions are not allowed: they would run before the fuel budget is set".into(),
                ));
            }
            _ => {}
        }
    }
    rewrite_limits(wasm, memory_pages_max)
}

/// Error text on one line (wasmparser's messages can span several).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn check_import(
    module: &str,
    name: &str,
    ty: &wasmer::wasmparser::TypeRef,
    rule: ImportRule,
) -> Result<(), RuntimeError> {
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
            if !matches!(ty, wasmer::wasmparser::TypeRef::Func(_)) {
                return refuse("only functions can be imported (memory, tables and globals are the module's own)");
            }
            if !names.contains(&name) {
                return refuse("not a host function of this ABI version (see docs/runtime-abi.md)");
            }
            Ok(())
        }
    }
}

/// Copies `wasm` section by section, re-encoding the memory and table sections with capped maxima.
fn rewrite_limits(wasm: &[u8], memory_pages_max: u32) -> Result<Vec<u8>, RuntimeError> {
    const HEADER: usize = 8;
    let bad = |what: &str| RuntimeError::InvalidModule(what.to_owned());
    let mut out = Vec::with_capacity(wasm.len() + 16);
    out.extend_from_slice(wasm.get(..HEADER).ok_or_else(|| bad("truncated header"))?);
    let mut pos = HEADER;
    while pos < wasm.len() {
        let id = wasm[pos];
        let mut cursor = pos + 1;
        let size = read_leb(wasm, &mut cursor).ok_or_else(|| bad("bad section size"))? as usize;
        let end = cursor.checked_add(size).filter(|e| *e <= wasm.len()).ok_or_else(|| bad("section past the end"))?;
        let content = &wasm[cursor..end];
        match id {
            4 => push_section(&mut out, 4, &rewrite_tables(content)?),
            5 => push_section(&mut out, 5, &rewrite_memories(content, memory_pages_max)?),
            _ => out.extend_from_slice(&wasm[pos..end]),
        }
        pos = end;
    }
    Ok(out)
}

fn rewrite_tables(content: &[u8]) -> Result<Vec<u8>, RuntimeError> {
    let mut cursor = 0;
    let bad = || RuntimeError::InvalidModule("malformed table section".into());
    let count = read_leb(content, &mut cursor).ok_or_else(bad)?;
    let mut out = Vec::new();
    write_leb(&mut out, count);
    for _ in 0..count {
        let ref_type = *content.get(cursor).ok_or_else(bad)?;
        if ref_type != 0x70 && ref_type != 0x6F {
            return Err(RuntimeError::TableLimit("only funcref and externref tables are supported".into()));
        }
        cursor += 1;
        out.push(ref_type);
        let (min, max) = read_limits(content, &mut cursor).ok_or_else(bad)?;
        if min > MAX_TABLE_ELEMENTS {
            return Err(RuntimeError::TableLimit(format!(
                "table declares {min} elements; at most {MAX_TABLE_ELEMENTS} are allowed"
            )));
        }
        write_limits(&mut out, min, max.unwrap_or(MAX_TABLE_ELEMENTS).min(MAX_TABLE_ELEMENTS));
    }
    if cursor != content.len() {
        return Err(bad());
    }
    Ok(out)
}

fn rewrite_memories(content: &[u8], cap: u32) -> Result<Vec<u8>, RuntimeError> {
    let mut cursor = 0;
    let bad = || RuntimeError::InvalidModule("malformed memory section".into());
    let count = read_leb(content, &mut cursor).ok_or_else(bad)?;
    let mut out = Vec::new();
    write_leb(&mut out, count);
    for _ in 0..count {
        let (min, max) = read_limits(content, &mut cursor).ok_or_else(bad)?;
        if min > u64::from(cap) {
            return Err(RuntimeError::MemoryLimit(format!(
                "module declares {min} initial pages; the policy allows {cap}"
            )));
        }
        write_limits(&mut out, min, max.unwrap_or(u64::from(cap)).min(u64::from(cap)));
    }
    if cursor != content.len() {
        return Err(bad());
    }
    Ok(out)
}

/// Reads plain limits (flags 0 or 1). Shared, 64-bit and custom-page-size limits are refused:
/// validation with the allowed feature set has already rejected them, so `None` means malformed.
fn read_limits(bytes: &[u8], cursor: &mut usize) -> Option<(u64, Option<u64>)> {
    let flags = *bytes.get(*cursor)?;
    *cursor += 1;
    let min = read_leb(bytes, cursor)?;
    match flags {
        0 => Some((min, None)),
        1 => Some((min, Some(read_leb(bytes, cursor)?))),
        _ => None,
    }
}

fn write_limits(out: &mut Vec<u8>, min: u64, max: u64) {
    out.push(1);
    write_leb(out, min);
    write_leb(out, max);
}

fn push_section(out: &mut Vec<u8>, id: u8, content: &[u8]) {
    out.push(id);
    write_leb(out, content.len() as u64);
    out.extend_from_slice(content);
}

fn read_leb(bytes: &[u8], cursor: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*cursor)?;
        *cursor += 1;
        value |= u64::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn write_leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7F) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb_round_trips() {
        for v in [0u64, 1, 127, 128, 300, 65_536, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            write_leb(&mut out, v);
            let mut cursor = 0;
            assert_eq!(read_leb(&out, &mut cursor), Some(v));
            assert_eq!(cursor, out.len());
        }
    }
}
