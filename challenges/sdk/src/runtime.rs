//! The wasm32-only glue behind [`challenge!`](crate::challenge) and [`agent!`](crate::agent):
//! a bump allocator, the panic handler and the entry points. Not for direct use.

use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::{EpochInput, Input, Verdict, encode_verdicts};

const PAGE: usize = 65_536;

/// Bump allocator: an instance lives for one call, so memory is only ever taken back from the
/// top: freeing the most recent allocation (a temporary `Vec` dropped before the next one is
/// made) lets the next allocation reuse its bytes, and growing it (a `Vec` being pushed to)
/// happens in place. Anything else is never freed. Allocation is a few instructions and fully
/// deterministic; reusing the top keeps loops that allocate from touching fresh pages, each of
/// which costs the host a page fault.
struct Bump;

static NEXT: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" {
    static __heap_base: u8;
}

fn heap_start() -> usize {
    let next = NEXT.load(Ordering::Relaxed);
    if next != 0 {
        return next;
    }
    // Only the address of the linker-provided symbol is taken, never its value.
    core::ptr::addr_of!(__heap_base) as usize
}

fn reserve(end: usize) -> bool {
    let have = wasm32::memory_size(0) * PAGE;
    if end <= have {
        return true;
    }
    wasm32::memory_grow(0, (end - have).div_ceil(PAGE)) != usize::MAX
}

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let start = heap_start().next_multiple_of(layout.align());
        match start.checked_add(layout.size()) {
            Some(end) if reserve(end) => {
                NEXT.store(end, Ordering::Relaxed);
                start as *mut u8
            }
            _ => core::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ptr as usize + layout.size() == NEXT.load(Ordering::Relaxed) {
            NEXT.store(ptr as usize, Ordering::Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let end_of_old = ptr as usize + layout.size();
        if end_of_old == NEXT.load(Ordering::Relaxed) {
            match (ptr as usize).checked_add(new_size) {
                Some(end) if reserve(end) => {
                    NEXT.store(end.max(end_of_old), Ordering::Relaxed);
                    return ptr;
                }
                _ => return core::ptr::null_mut(),
            }
        }
        // SAFETY: same contract as GlobalAlloc::realloc's default implementation.
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let new = self.alloc(new_layout);
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            }
            new
        }
    }
}

#[global_allocator]
static ALLOCATOR: Bump = Bump;

/// A panic traps. It does not log: modules run in the nested sandbox may import nothing, and a
/// host call here would give every agent an import. Challenges log explicitly with `host::log`.
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    wasm32::unreachable()
}

/// `platform_alloc`: `len` bytes aligned to 8, or 0 when memory is exhausted.
pub fn alloc(len: i32) -> i32 {
    let Ok(size) = usize::try_from(len) else { return 0 };
    let Ok(layout) = Layout::from_size_align(size.max(1), 8) else { return 0 };
    // SAFETY: the layout has a non-zero size.
    unsafe { ALLOCATOR.alloc(layout) as i32 }
}

fn input<'a>(ptr: i32, len: i32) -> &'a [u8] {
    // SAFETY: the host wrote `len` bytes at `ptr`, which `platform_alloc` returned.
    unsafe { core::slice::from_raw_parts(ptr as usize as *const u8, len as usize) }
}

fn hand_over(output: Vec<u8>) -> i64 {
    let packed = ((output.as_ptr() as u64) << 32) | output.len() as u64;
    core::mem::forget(output);
    packed as i64
}

/// `platform_evaluate`.
pub fn evaluate(ptr: i32, len: i32, evaluate: fn(&Input) -> Verdict) -> i64 {
    let verdict = match Input::decode(input(ptr, len)) {
        Some(input) => evaluate(&input),
        None => Verdict::rejected("input is not a per-submission input (layout 1, docs/runtime-abi.md)"),
    };
    hand_over(verdict.encode())
}

/// `platform_score_epoch`. An input that does not decode gets no verdicts, which the host
/// refuses as a malformed output (it never sends such an input).
pub fn score_epoch(ptr: i32, len: i32, score: fn(&EpochInput) -> Vec<Verdict>) -> i64 {
    let verdicts = match EpochInput::decode(input(ptr, len)) {
        Some(input) => score(&input),
        None => Vec::new(),
    };
    hand_over(encode_verdicts(&verdicts))
}

/// `platform_run`.
pub fn run(ptr: i32, len: i32, run: fn(&[u8]) -> Vec<u8>) -> i64 {
    hand_over(run(input(ptr, len)))
}
