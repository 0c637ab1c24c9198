//! Fuel metering, written into every function body before compilation.
//!
//! Fuel is charged per straight-line run of operators, at the operator that ends the run (a
//! branch, a call, `end`, `else`, …), from the cost table below. Each function keeps its remaining
//! fuel in a local of its own, which the compiler holds in a register, so a charge is a subtract,
//! a compare and a branch that is never taken until the budget runs out. The module's fuel global
//! (exported as [`FUEL_EXPORT`]) is the figure the host sees: it is read on function entry and
//! after every call, and written before every call, every way out of the function and the
//! out-of-fuel trap. A global that is negative means the budget ran out.
//!
//! Every place fuel is charged or written back is fixed by the module's code alone, so the fuel a
//! call uses, and the figure left in the global when a call traps, is the same on every machine.

use wasm_encoder::{BlockType, Function};
use wasmparser::Operator;

/// Name under which a metered module exports its fuel global. Modules may not export it
/// themselves.
pub const FUEL_EXPORT: &str = "platform_fuel";

/// Fuel charged per operator (cost table version 2). One unit per instruction, with surcharges
/// for the operators whose host-side work does not scale with the instruction count.
pub(crate) fn cost(op: &Operator) -> u64 {
    match op {
        Operator::MemoryGrow { .. } | Operator::TableGrow { .. } => 10_000,
        Operator::MemoryFill { .. }
        | Operator::MemoryCopy { .. }
        | Operator::MemoryInit { .. }
        | Operator::TableFill { .. }
        | Operator::TableCopy { .. }
        | Operator::TableInit { .. } => 1_000,
        Operator::Call { .. } | Operator::CallIndirect { .. } => 5,
        _ => 1,
    }
}

/// Whether `op` ends a straight-line run: everything since the previous such operator, this one
/// included, is charged just before it.
fn ends_run(op: &Operator) -> bool {
    matches!(
        op,
        Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Else
            | Operator::End
            | Operator::Br { .. }
            | Operator::BrIf { .. }
            | Operator::BrTable { .. }
            | Operator::Return
            | Operator::Unreachable
            | Operator::Call { .. }
            | Operator::CallIndirect { .. }
    )
}

/// Charges fuel in one function body as its operators are re-encoded.
#[derive(Debug)]
pub(crate) struct Meter {
    /// Index of the module's fuel global.
    global: u32,
    /// Index of the function's local holding its working copy.
    local: u32,
    /// Open blocks, the function's own frame included: a branch to depth `open - 1` leaves the
    /// function.
    open: u32,
    /// Cost of the operators since the last charge.
    pending: u64,
}

impl Meter {
    /// Starts metering a function: emits the load of the global into `local`.
    pub(crate) fn enter(f: &mut Function, global: u32, local: u32) -> Meter {
        f.instructions().global_get(global).local_set(local);
        Meter { global, local, open: 1, pending: 0 }
    }

    /// Emits what must run before `op`: the charge for the run it ends, and the write-back of the
    /// working copy if `op` calls out or leaves the function.
    pub(crate) fn before(&mut self, op: &Operator, f: &mut Function) {
        self.pending = self.pending.saturating_add(cost(op));
        if ends_run(op) {
            self.charge(f);
        }
        let leaves = |depth: u32| depth == self.open - 1;
        let writes_back = match op {
            Operator::Return | Operator::Call { .. } | Operator::CallIndirect { .. } => true,
            Operator::Br { relative_depth } | Operator::BrIf { relative_depth } => leaves(*relative_depth),
            Operator::BrTable { targets } => {
                leaves(targets.default()) || targets.targets().any(|t| t.map(leaves).unwrap_or(false))
            }
            Operator::End => self.open == 1,
            _ => false,
        };
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => self.open += 1,
            Operator::End => self.open -= 1,
            _ => {}
        }
        if writes_back {
            f.instructions().local_get(self.local).global_set(self.global);
        }
    }

    /// Emits what must run after `op`: a call may have changed the global (host functions charge
    /// it, callees spend it), so the working copy is reloaded.
    pub(crate) fn after(&mut self, op: &Operator, f: &mut Function) {
        if matches!(op, Operator::Call { .. } | Operator::CallIndirect { .. }) {
            f.instructions().global_get(self.global).local_set(self.local);
        }
    }

    /// `fuel -= pending; if fuel < 0 { write it back; trap }`.
    fn charge(&mut self, f: &mut Function) {
        let amount = i64::try_from(std::mem::take(&mut self.pending)).unwrap_or(i64::MAX);
        f.instructions()
            .local_get(self.local)
            .i64_const(amount)
            .i64_sub()
            .local_tee(self.local)
            .i64_const(0)
            .i64_lt_s()
            .if_(BlockType::Empty)
            .local_get(self.local)
            .global_set(self.global)
            .unreachable()
            .end();
    }
}
