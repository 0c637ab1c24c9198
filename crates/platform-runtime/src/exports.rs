//! What a module must export and import to be loaded: a memory, an allocator and its entry
//! point with their types, and imports whose types match the host functions of those names.

use wasmer::{ExternType, FunctionEnv, FunctionType, Type};

use crate::abi;
use crate::engine::Compiled;
use crate::error::RuntimeError;
use crate::host::{self, HostEnv};

/// The type of every entry point: `(ptr, len) -> ptr << 32 | len`.
pub(crate) fn entry_type() -> FunctionType {
    FunctionType::new([Type::I32, Type::I32], [Type::I64])
}

pub(crate) fn check_exports(compiled: &Compiled, entry: &'static str) -> Result<(), RuntimeError> {
    check_export(compiled, abi::EXPORT_MEMORY, None, "a memory")?;
    check_export(compiled, abi::EXPORT_ALLOC, Some(FunctionType::new([Type::I32], [Type::I32])), "(i32) -> i32")?;
    check_export(compiled, entry, Some(entry_type()), "(i32, i32) -> i64")
}

/// Checks that `name` is exported as a function of type `want`, or as a memory when `want` is
/// `None`.
pub(crate) fn check_export(
    compiled: &Compiled,
    name: &'static str,
    want: Option<FunctionType>,
    expected: &'static str,
) -> Result<(), RuntimeError> {
    let found = compiled.module.exports().find(|e| e.name() == name).map(|e| e.ty().clone());
    let ok = match (found, want) {
        (Some(ExternType::Memory(_)), None) => true,
        (Some(ExternType::Function(ty)), Some(want)) => ty == want,
        _ => false,
    };
    if ok { Ok(()) } else { Err(RuntimeError::BadExport { name, expected }) }
}

/// Compares each import's type with the host function of that name.
pub(crate) fn check_import_types(compiled: &Compiled) -> Result<(), RuntimeError> {
    let mut store = wasmer::Store::new(compiled.engine.clone());
    let env = FunctionEnv::new(&mut store, HostEnv::new([0; 32], 0, None));
    let imports = host::imports(&mut store, &env, host::HOST_FUNCTIONS.iter().copied());
    for import in compiled.module.imports() {
        let provided = imports.get_export(import.module(), import.name());
        let matches = match (provided, import.ty()) {
            (Some(wasmer::Extern::Function(f)), ExternType::Function(want)) => f.ty(&store) == *want,
            _ => false,
        };
        if !matches {
            let provided_ty = imports.get_export(import.module(), import.name()).map(|e| e.ty(&store));
            return Err(RuntimeError::ForbiddenImport {
                module: import.module().to_owned(),
                name: import.name().to_owned(),
                reason: format!("type {:?} does not match the host function's {:?}", import.ty(), provided_ty),
            });
        }
    }
    Ok(())
}
