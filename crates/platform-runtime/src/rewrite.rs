//! The one re-encoding every module goes through between inspection and compilation.
//!
//! It caps the module's memories at the policy's page limit and its tables at
//! [`MAX_TABLE_ELEMENTS`] by rewriting their declared maxima, so `memory.grow` and `table.grow`
//! past a cap return -1, identically on every validator, with no host allocation attempted. It
//! appends the fuel global, exports it, meters every function body ([`crate::metering`]) and
//! canonicalises NaNs where their bits become observable ([`crate::nan`]). Appending keeps every
//! existing index valid: the global comes after the module's own globals and each function's
//! four new locals (fuel counter, f32 and f64 scratch, bulk length) after its own locals.

use wasm_encoder::reencode::{self, Error as ReencodeError, Reencode};
use wasm_encoder::{
    CodeSection, ConstExpr, ExportKind, ExportSection, Function, GlobalSection, GlobalType, MemoryType, Module,
    SectionId, TableType, ValType,
};
use wasmparser::{FunctionBody, Parser, Payload, TypeRef};

use crate::error::RuntimeError;
use crate::metering::{FUEL_EXPORT, Meter};
use crate::nan::{self, Scratch};

/// Largest table a module may declare or grow to, in elements.
pub const MAX_TABLE_ELEMENTS: u64 = 100_000;

/// Re-encodes module bytes with capped limits and fuel metering: what the runtime compiles.
/// The runtime validates a module and checks its imports first ([`crate::Runtime::load`]); this
/// is public for diagnostics and benchmarks that compile the result themselves.
pub fn rewrite(wasm: &[u8], memory_pages_max: u32) -> Result<Vec<u8>, RuntimeError> {
    let mut rewriter = Rewriter::survey(wasm, memory_pages_max)?;
    let mut module = Module::new();
    rewriter.parse_core_module(&mut module, Parser::new(0), wasm).map_err(|e| match e {
        ReencodeError::UserError(e) => e,
        other => RuntimeError::InvalidModule(format!("cannot re-encode the module: {other}")),
    })?;
    Ok(module.finish())
}

/// What the rewrite needs to know about a module before re-encoding it, and where it is.
struct Rewriter {
    memory_pages_max: u32,
    /// Parameter count of each function type.
    type_params: Vec<u32>,
    /// Type index of each function the module defines, in code-section order.
    function_types: Vec<u32>,
    /// Index the fuel global gets: after every imported and defined global.
    fuel_global: u32,
    has_globals: bool,
    has_exports: bool,
    /// Function bodies re-encoded so far.
    bodies: usize,
}

impl Rewriter {
    fn survey(wasm: &[u8], memory_pages_max: u32) -> Result<Rewriter, RuntimeError> {
        let invalid = |e: wasmparser::BinaryReaderError| RuntimeError::InvalidModule(e.message().to_owned());
        let mut rewriter = Rewriter {
            memory_pages_max,
            type_params: Vec::new(),
            function_types: Vec::new(),
            fuel_global: 0,
            has_globals: false,
            has_exports: false,
            bodies: 0,
        };
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.map_err(invalid)? {
                Payload::TypeSection(reader) => {
                    for ty in reader.into_iter_err_on_gc_types() {
                        rewriter.type_params.push(ty.map_err(invalid)?.params().len() as u32);
                    }
                }
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        if matches!(import.map_err(invalid)?.ty, TypeRef::Global(_)) {
                            rewriter.fuel_global += 1;
                        }
                    }
                }
                Payload::FunctionSection(reader) => {
                    for ty in reader {
                        rewriter.function_types.push(ty.map_err(invalid)?);
                    }
                }
                Payload::GlobalSection(reader) => {
                    rewriter.has_globals = true;
                    rewriter.fuel_global += reader.count();
                }
                Payload::ExportSection(reader) => {
                    rewriter.has_exports = true;
                    for export in reader {
                        if export.map_err(invalid)?.name == FUEL_EXPORT {
                            return Err(RuntimeError::InvalidModule(format!(
                                "the export name `{FUEL_EXPORT}` is reserved for the runtime's fuel counter"
                            )));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(rewriter)
    }

    fn append_fuel_global(&self, section: &mut GlobalSection) {
        let ty = GlobalType { val_type: ValType::I64, mutable: true, shared: false };
        section.global(ty, &ConstExpr::i64_const(0));
    }

    fn append_fuel_export(&self, section: &mut ExportSection) {
        section.export(FUEL_EXPORT, ExportKind::Global, self.fuel_global);
    }

    /// Parameter count of the `function`-th function the module defines.
    fn params(&self, function: usize) -> Option<u32> {
        let ty = *self.function_types.get(function)?;
        self.type_params.get(ty as usize).copied()
    }
}

/// The maximum a memory or table gets: the declared one or `cap`, whichever is lower; `None`
/// when even its initial size exceeds `cap`.
fn capped_maximum(initial: u64, maximum: Option<u64>, cap: u64) -> Option<u64> {
    (initial <= cap).then(|| maximum.unwrap_or(cap).min(cap))
}

/// Position of a section in a module's binary layout (not its id: tags and data counts sit
/// between sections with lower ids).
fn position(id: Option<SectionId>) -> u8 {
    match id {
        Some(SectionId::Custom) => 0,
        Some(SectionId::Type) => 1,
        Some(SectionId::Import) => 2,
        Some(SectionId::Function) => 3,
        Some(SectionId::Table) => 4,
        Some(SectionId::Memory) => 5,
        Some(SectionId::Tag) => 6,
        Some(SectionId::Global) => 7,
        Some(SectionId::Export) => 8,
        Some(SectionId::Start) => 9,
        Some(SectionId::Element) => 10,
        Some(SectionId::DataCount) => 11,
        Some(SectionId::Code) => 12,
        Some(SectionId::Data) => 13,
        None => u8::MAX,
    }
}

impl Reencode for Rewriter {
    type Error = RuntimeError;

    fn memory_type(&mut self, memory: wasmparser::MemoryType) -> Result<MemoryType, ReencodeError<RuntimeError>> {
        let cap = u64::from(self.memory_pages_max);
        let Some(maximum) = capped_maximum(memory.initial, memory.maximum, cap) else {
            return Err(ReencodeError::UserError(RuntimeError::MemoryLimit(format!(
                "module declares {} initial pages; the policy allows {cap}",
                memory.initial
            ))));
        };
        let mut ty = reencode::utils::memory_type(self, memory);
        ty.maximum = Some(maximum);
        Ok(ty)
    }

    fn table_type(&mut self, table: wasmparser::TableType) -> Result<TableType, ReencodeError<RuntimeError>> {
        let Some(maximum) = capped_maximum(table.initial, table.maximum, MAX_TABLE_ELEMENTS) else {
            return Err(ReencodeError::UserError(RuntimeError::TableLimit(format!(
                "table declares {} elements; at most {MAX_TABLE_ELEMENTS} are allowed",
                table.initial
            ))));
        };
        let mut ty = reencode::utils::table_type(self, table)?;
        ty.maximum = Some(maximum);
        Ok(ty)
    }

    fn parse_global_section(
        &mut self,
        globals: &mut GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), ReencodeError<RuntimeError>> {
        reencode::utils::parse_global_section(self, globals, section)?;
        self.append_fuel_global(globals);
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), ReencodeError<RuntimeError>> {
        reencode::utils::parse_export_section(self, exports, section)?;
        self.append_fuel_export(exports);
        Ok(())
    }

    /// Adds the global and export sections where a module has none, in their binary position.
    fn intersperse_section_hook(
        &mut self,
        module: &mut Module,
        _after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), ReencodeError<RuntimeError>> {
        let next = position(before);
        if !self.has_globals && next > position(Some(SectionId::Global)) {
            let mut globals = GlobalSection::new();
            self.append_fuel_global(&mut globals);
            module.section(&globals);
            self.has_globals = true;
        }
        if !self.has_exports && next > position(Some(SectionId::Export)) {
            let mut exports = ExportSection::new();
            self.append_fuel_export(&mut exports);
            module.section(&exports);
            self.has_exports = true;
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        body: FunctionBody<'_>,
    ) -> Result<(), ReencodeError<RuntimeError>> {
        let malformed = || {
            ReencodeError::UserError(RuntimeError::InvalidModule(
                "function bodies do not match the function section".into(),
            ))
        };
        // The first free local index comes after the parameters and the declared locals.
        let mut first_free = self.params(self.bodies).ok_or_else(malformed)?;
        self.bodies += 1;
        let mut locals = Vec::new();
        for entry in body.get_locals_reader()? {
            let (count, ty) = entry?;
            first_free = first_free.checked_add(count).ok_or_else(malformed)?;
            locals.push((count, self.val_type(ty)?));
        }
        // Appended locals: the fuel counter, the NaN scratch floats, a bulk operator's length.
        locals.extend([(1, ValType::I64), (1, ValType::F32), (1, ValType::F64), (1, ValType::I32)]);
        let scratch = Scratch { f32: first_free + 1, f64: first_free + 2 };
        let mut f = Function::new(locals);
        let mut meter = Meter::enter(&mut f, &body, self.fuel_global, first_free, first_free + 3)?;
        let mut reader = body.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            nan::check_simd(&op).map_err(|e| ReencodeError::UserError(RuntimeError::InvalidModule(e)))?;
            meter.before(&op, &mut f);
            nan::canonicalise_before(&op, &mut f, scratch);
            f.instruction(&self.instruction(op.clone())?);
            meter.after(&op, &mut f);
        }
        code.function(&f);
        Ok(())
    }
}

#[cfg(test)]
#[path = "rewrite_tests.rs"]
mod tests;
