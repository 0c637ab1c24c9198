//! Fuel metering, written into every function body before compilation.
//!
//! A function's code splits into runs: a run starts where control can arrive other than by
//! falling through — the function's entry, just inside a `loop` (each iteration), an `if` or an
//! `else`, and just after an `end` — and goes on to the next such place. Branches, returns and
//! calls inside a run do not end it. Each run is charged in full, from the cost table below, as it
//! starts: a run left early by a branch or a trap still pays for its operators that did not run.
//! The run after a `loop`'s `end` is paid in advance by the run that enters the loop (see
//! [`run_costs`]). So fuel is an upper bound fixed by the code alone, charged before the code it
//! pays for runs, and a tight loop pays once per iteration.
//!
//! Each function keeps its remaining fuel in a local of its own, which the compiler holds in a
//! register, so a charge is a subtract, a compare and a branch that is never taken until the
//! budget runs out. The module's fuel global (exported as [`FUEL_EXPORT`]) is the figure the host
//! sees: it is read on function entry and after every call, and written before every call, every
//! way out of the function and the out-of-fuel trap. A global that is negative means the budget
//! ran out.
//!
//! Bulk memory and table operators (`memory.fill/copy/init`, `table.fill/copy/init`) do work in
//! proportion to their length operand, so besides their place in a run they are charged by that
//! length just before they execute ([`bulk_cost_shift`]): fuel bounds their time as it bounds
//! every other operator's, and the wall-clock deadline stays a safety net.
//!
//! Every place fuel is charged or written back is fixed by the module's code alone, so the fuel a
//! call uses, and the figure left in the global when a call traps, is the same on every machine.

use wasm_encoder::{BlockType, Function};
use wasmparser::{BinaryReaderError, FunctionBody, Operator};

/// Name under which a metered module exports its fuel global. Modules may not export it
/// themselves.
pub const FUEL_EXPORT: &str = "platform_fuel";

/// Fuel charged per operator (unchanged since rewrite version 1; a change is a new
/// `REWRITE_VERSION`). One unit per instruction, with surcharges
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

/// How a bulk operator's length operand is charged (since rewrite version 4): `length >> shift`
/// fuel on top of its flat cost. Memory operators pay one unit per 8 bytes (filling 64 MiB took
/// about 2.5 ms here, against roughly a nanosecond per unit of ordinary code), table operators
/// one unit per element. `None` for every other operator.
pub(crate) fn bulk_cost_shift(op: &Operator) -> Option<u32> {
    match op {
        Operator::MemoryFill { .. } | Operator::MemoryCopy { .. } | Operator::MemoryInit { .. } => Some(3),
        Operator::TableFill { .. } | Operator::TableCopy { .. } | Operator::TableInit { .. } => Some(0),
        _ => None,
    }
}

/// Whether a new run starts just after `op`.
fn starts_run_after(op: &Operator) -> bool {
    matches!(op, Operator::Loop { .. } | Operator::If { .. } | Operator::Else | Operator::End)
}

/// The charge made as each run of `body` starts, in order: its own cost, plus the cost of every
/// run folded into it. A run that follows a `loop`'s `end` is reached only by falling off the
/// end of that loop's body, so at most once per entry to the loop: it is folded into the run that
/// enters the loop (and charged nothing itself). That saves a charge per loop exit, and keeps the
/// fuel a loop carries from being needed after the loop under two names (cranelift folds
/// `(fuel - a) - b` into `fuel - (a + b)` and then copies the loop's fuel register on every
/// iteration; docs/benchmarks.md).
fn run_costs(body: &FunctionBody<'_>) -> Result<Vec<u64>, BinaryReaderError> {
    // The charges; the run paying for the current one (itself, unless folded); open blocks, with
    // the run paying on entry to each loop.
    let mut charges = vec![0u64];
    let mut paid_by = 0;
    let mut open: Vec<Option<usize>> = Vec::new();
    let mut reader = body.get_operators_reader()?;
    while !reader.eof() {
        let op = reader.read()?;
        charges[paid_by] = charges[paid_by].saturating_add(cost(&op));
        let folded_into = match op {
            Operator::Loop { .. } => {
                open.push(Some(paid_by));
                None
            }
            Operator::Block { .. } | Operator::If { .. } => {
                open.push(None);
                None
            }
            Operator::End => open.pop().flatten(),
            _ => None,
        };
        if starts_run_after(&op) {
            paid_by = folded_into.unwrap_or(charges.len());
            charges.push(0);
        }
    }
    Ok(charges)
}

/// Charges fuel in one function body as its operators are re-encoded.
#[derive(Debug)]
pub(crate) struct Meter {
    /// Index of the module's fuel global.
    global: u32,
    /// Index of the function's local holding its working copy.
    local: u32,
    /// Index of an i32 scratch local holding a bulk operator's length.
    length: u32,
    /// Open blocks, the function's own frame included: a branch to depth `open - 1` leaves the
    /// function.
    open: u32,
    /// Cost of each run, and the next one to charge.
    runs: Vec<u64>,
    next: usize,
}

impl Meter {
    /// Starts metering `body`: emits the load of the global into `local` (an i64 local) and the
    /// first run's charge; `length` is an i32 scratch local.
    pub(crate) fn enter(
        f: &mut Function,
        body: &FunctionBody<'_>,
        global: u32,
        local: u32,
        length: u32,
    ) -> Result<Meter, BinaryReaderError> {
        let mut meter = Meter { global, local, length, open: 1, runs: run_costs(body)?, next: 0 };
        f.instructions().global_get(global).local_set(local);
        meter.charge_next_run(f);
        Ok(meter)
    }

    /// Emits what must run before `op`: the write-back of the working copy if `op` calls out or
    /// may leave the function.
    pub(crate) fn before(&mut self, op: &Operator, f: &mut Function) {
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
        if let Some(shift) = bulk_cost_shift(op) {
            // The length is the operand on top of the stack: copied, not consumed.
            f.instructions()
                .local_tee(self.length)
                .local_get(self.local)
                .local_get(self.length)
                .i64_extend_i32_u()
                .i64_const(i64::from(shift))
                .i64_shr_u();
            self.subtract_or_trap(f);
        }
    }

    /// Emits what must run after `op`: the reload after a call (host functions charge the global,
    /// callees spend it), and the next run's charge where one starts.
    pub(crate) fn after(&mut self, op: &Operator, f: &mut Function) {
        if matches!(op, Operator::Call { .. } | Operator::CallIndirect { .. }) {
            f.instructions().global_get(self.global).local_set(self.local);
        }
        if starts_run_after(op) && self.open > 0 {
            self.charge_next_run(f);
        }
    }

    /// `fuel -= run; if fuel < 0 { write it back; trap }`.
    fn charge_next_run(&mut self, f: &mut Function) {
        let run = self.runs.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        if run == 0 {
            return;
        }
        f.instructions().local_get(self.local).i64_const(i64::try_from(run).unwrap_or(i64::MAX));
        self.subtract_or_trap(f);
    }

    /// With the fuel and a charge on the stack: `fuel -= charge; if fuel < 0 { write it back;
    /// trap }`.
    fn subtract_or_trap(&self, f: &mut Function) {
        f.instructions()
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
