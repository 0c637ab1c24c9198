//! One metered call into a module: the mechanism shared by challenge evaluations and nested runs.

use std::time::Instant;

use wasmer::{Imports, Instance, Memory, Store, TypedFunction};

use crate::abi;
use crate::engine::Compiled;
use crate::error::RuntimeError;
use crate::host::FuelGlobals;
use crate::watchdog::Watchdog;

/// The limits one call runs under.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub fuel: u64,
    pub memory_pages_max: u32,
    pub deadline: Instant,
    pub deadline_ms: u32,
    pub max_output_bytes: u32,
}

/// An instantiated module ready for its one call.
pub(crate) struct Sandbox {
    pub store: Store,
    pub instance: Instance,
    pub memory: Memory,
    pub fuel: FuelGlobals,
    limits: Limits,
}

/// What a finished call produced.
pub(crate) struct CallOutput {
    pub output: Vec<u8>,
    pub fuel_used: u64,
}

impl Sandbox {
    /// Instantiates `compiled` in a fresh store with `imports` built by `make_imports`.
    pub(crate) fn new(
        compiled: &Compiled,
        limits: Limits,
        make_imports: impl FnOnce(&mut Store) -> Imports,
    ) -> Result<Sandbox, RuntimeError> {
        let mut store = Store::new(compiled.engine.clone());
        let imports = make_imports(&mut store);
        let instance = Instance::new(&mut store, &compiled.module, &imports).map_err(|e| match e {
            wasmer::InstantiationError::Start(trap) => classify_trap(trap, None),
            other => RuntimeError::Engine(format!("instantiation: {other}")),
        })?;
        let memory = instance
            .exports
            .get_memory(abi::EXPORT_MEMORY)
            .map_err(|_| RuntimeError::BadExport { name: abi::EXPORT_MEMORY, expected: "a memory" })?
            .clone();
        let fuel = FuelGlobals::of(&instance).ok_or_else(|| RuntimeError::Engine("module is not metered".into()))?;
        fuel.set(&mut store, limits.fuel);
        Ok(Sandbox { store, instance, memory, fuel, limits })
    }

    /// Calls `entry` with `input` copied into guest memory and returns the guest's output bytes.
    pub(crate) fn call(
        &mut self,
        entry: &'static str,
        input: &[u8],
        watchdog: &Watchdog,
    ) -> Result<CallOutput, RuntimeError> {
        let alloc: TypedFunction<i32, i32> =
            self.instance
                .exports
                .get_typed_function(&self.store, abi::EXPORT_ALLOC)
                .map_err(|_| RuntimeError::BadExport { name: abi::EXPORT_ALLOC, expected: "(i32) -> i32" })?;
        let run: TypedFunction<(i32, i32), i64> = self
            .instance
            .exports
            .get_typed_function(&self.store, entry)
            .map_err(|_| RuntimeError::BadExport { name: entry, expected: "(i32, i32) -> i64" })?;
        let len = i32::try_from(input.len())
            .map_err(|_| RuntimeError::InputTooLarge { size: input.len() as u64, limit: i32::MAX as u64 })?;
        let armed = watchdog.arm(self.store.interrupter(), self.limits.deadline);
        let ptr = match alloc.call(&mut self.store, len) {
            Ok(ptr) => ptr,
            Err(e) => return Err(self.classify(e, armed.fired())),
        };
        if ptr == 0 && len > 0 {
            return Err(self.out_of_memory_or(RuntimeError::Trap(format!("{} returned null", abi::EXPORT_ALLOC))));
        }
        self.memory
            .view(&self.store)
            .write(ptr as u32 as u64, input)
            .map_err(|_| RuntimeError::Trap(format!("{} returned a pointer outside memory", abi::EXPORT_ALLOC)))?;
        let packed = match run.call(&mut self.store, ptr, len) {
            Ok(packed) => packed,
            Err(e) => return Err(self.classify(e, armed.fired())),
        };
        drop(armed);
        let (out_ptr, out_len) = abi::unpack(packed);
        if out_len > self.limits.max_output_bytes {
            return Err(RuntimeError::OutputTooLarge {
                size: u64::from(out_len),
                limit: u64::from(self.limits.max_output_bytes),
            });
        }
        let mut output = vec![0; out_len as usize];
        self.memory
            .view(&self.store)
            .read(u64::from(out_ptr), &mut output)
            .map_err(|_| RuntimeError::MalformedOutput("output range lies outside the module's memory".into()))?;
        Ok(CallOutput { output, fuel_used: self.fuel_used() })
    }

    /// Fuel consumed so far.
    pub(crate) fn fuel_used(&mut self) -> u64 {
        match self.fuel.remaining(&mut self.store) {
            Some(left) => self.limits.fuel.saturating_sub(left),
            None => self.limits.fuel,
        }
    }

    fn classify(&mut self, error: wasmer::RuntimeError, deadline_fired: bool) -> RuntimeError {
        if deadline_fired {
            return RuntimeError::Deadline { deadline_ms: self.limits.deadline_ms };
        }
        if self.fuel.remaining(&mut self.store).is_none() {
            return RuntimeError::OutOfFuel { limit: self.limits.fuel };
        }
        let deadline_ms = self.limits.deadline_ms;
        match classify_trap(error, Some(deadline_ms)) {
            err @ (RuntimeError::Trap(_) | RuntimeError::StackOverflow) => self.out_of_memory_or(err),
            other => other,
        }
    }

    /// A trap in a module whose memory sits at the policy cap is reported as the memory limit:
    /// that is what a guest allocator does when `memory.grow` fails.
    fn out_of_memory_or(&self, error: RuntimeError) -> RuntimeError {
        let pages = self.memory.view(&self.store).size().0;
        if pages >= self.limits.memory_pages_max {
            RuntimeError::MemoryLimit(format!("memory reached the policy cap of {pages} pages, then: {error}"))
        } else {
            error
        }
    }
}

/// Maps a wasmer runtime error to the runtime's typed error.
fn classify_trap(error: wasmer::RuntimeError, deadline_ms: Option<u32>) -> RuntimeError {
    let error = match error.downcast::<RuntimeError>() {
        Ok(host) => return host,
        Err(other) => other,
    };
    let message = error.message();
    match error.to_trap() {
        Some(wasmer::sys::vm::TrapCode::StackOverflow) => RuntimeError::StackOverflow,
        Some(wasmer::sys::vm::TrapCode::HostInterrupt) => {
            RuntimeError::Deadline { deadline_ms: deadline_ms.unwrap_or_default() }
        }
        _ => RuntimeError::Trap(message),
    }
}
