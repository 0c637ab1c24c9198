//! Linear memories reused across instances (Linux).
//!
//! A fresh wasmer memory is a new 8 GiB reservation: `mmap`, `mprotect`, a page fault for each
//! 4 KiB page the module touches and `munmap` with its page-table teardown when the instance
//! goes — about 28 µs of a 60 µs evaluation, measured with `perf` (docs/benchmarks.md). Here the memory of a finished
//! instance goes back to a small process-wide pool with the pages it touched zeroed in place and
//! kept resident, so the next instance writes to them without faulting; the next instance takes
//! it with exactly its declared minimum accessible.
//!
//! What a module sees is what a fresh memory gives, which determinism needs: every byte zero
//! (checked by the unit tests below and by the hostile test
//! `no_instance_sees_memory_an_earlier_one_wrote_or_grew`), its declared size, and a trap past the end (everything beyond the accessible
//! bytes is `PROT_NONE`, and the compiled code relies on that exactly as it does for wasmer's
//! own static memories: same style, same reservation).
//!
//! Zeroing: `mincore` lists the resident pages of the accessible bytes; resident runs are zeroed
//! with a memset while a budget lasts ([`KEEP_RESIDENT`]), everything else is given back to the
//! kernel with `MADV_DONTNEED`, which also covers pages swapped out (not resident, still
//! holding data). Huge pages are refused on the reservation so residency is per 4 KiB page.
#![allow(unsafe_code)]

use std::io;
use std::ptr::NonNull;
use std::sync::Mutex;

use wasmer::sys::vm::{
    LinearMemory, MemoryError, MemoryStyle, TableStyle, VMMemory, VMMemoryDefinition, VMTable, VMTableDefinition,
};
use wasmer::sys::{BaseTunables, Tunables};
use wasmer::{MemoryType, Pages, TableType, WASM_PAGE_SIZE};

/// Memories kept for reuse; more released at once are unmapped.
const POOL_SLOTS: usize = 16;
/// Bytes of a released memory zeroed and kept resident; touched pages beyond are dropped.
const KEEP_RESIDENT: usize = 4 << 20;
/// Accessible bytes above which a released memory is not scanned, only dropped whole.
const SCAN_LIMIT: usize = 64 << 20;

/// The address space of one memory: the 4 GiB a wasm32 address can reach plus wasmer's offset
/// guard, as for wasmer's static memories (the compiled code omits bounds checks on that basis).
fn reservation() -> usize {
    (MemoryStyle::static_bound().0 as usize) * WASM_PAGE_SIZE + MemoryStyle::static_offset_guard_size() as usize
}

fn os_page() -> usize {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page).ok().filter(|p| p.is_power_of_two()).unwrap_or(4096)
}

fn check(result: libc::c_int, what: &str) -> io::Result<()> {
    if result == 0 {
        return Ok(());
    }
    let error = io::Error::last_os_error();
    Err(io::Error::new(error.kind(), format!("{what}: {error}")))
}

/// One reservation; bytes `[0, accessible)` readable and writable, the rest `PROT_NONE`. While in
/// the pool every byte reads as zero.
#[derive(Debug)]
struct Region {
    base: NonNull<u8>,
    accessible: usize,
}

// SAFETY: a Region is an owned mapping, used by one instance at a time; the pool hands it over
// under a mutex.
unsafe impl Send for Region {}
// SAFETY: as wasmer's own memories: the mapping is plain bytes, and concurrent access from guest
// code is the guest's business (no shared memories are accepted: the engine refuses threads).
unsafe impl Sync for Region {}

impl Region {
    fn map() -> io::Result<Region> {
        // SAFETY: a fresh anonymous mapping, not aliasing anything.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                reservation(),
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))?;
        let region = Region { base, accessible: 0 };
        // Huge pages would make residency (and the memset that follows it) 2 MiB at a time.
        // SAFETY: advice on our own mapping; failure only means the kernel ignores it.
        let _ = unsafe { libc::madvise(ptr, reservation(), libc::MADV_NOHUGEPAGE) };
        Ok(region)
    }

    /// Makes exactly `bytes` (a multiple of the wasm page) accessible.
    fn set_accessible(&mut self, bytes: usize) -> io::Result<()> {
        if bytes > self.accessible {
            // SAFETY: [accessible, bytes) lies inside our reservation (bytes ≤ 4 GiB).
            let at = unsafe { self.base.as_ptr().add(self.accessible) };
            check(
                unsafe { libc::mprotect(at.cast(), bytes - self.accessible, libc::PROT_READ | libc::PROT_WRITE) },
                "mprotect (grow)",
            )?;
        } else if bytes < self.accessible {
            // SAFETY: as above; the bytes given up are zero already (the region came from the pool).
            let at = unsafe { self.base.as_ptr().add(bytes) };
            check(unsafe { libc::mprotect(at.cast(), self.accessible - bytes, libc::PROT_NONE) }, "mprotect (shrink)")?;
        }
        self.accessible = bytes;
        Ok(())
    }

    /// Makes every accessible byte zero again (module comment: resident pages zeroed in place
    /// within [`KEEP_RESIDENT`], the rest dropped).
    fn zero(&mut self) -> io::Result<()> {
        let len = self.accessible;
        if len == 0 {
            return Ok(());
        }
        if len > SCAN_LIMIT {
            return self.drop_pages(0, len);
        }
        let page = os_page();
        let pages = len.div_ceil(page);
        let mut residency = vec![0u8; pages];
        // SAFETY: the range is our accessible mapping; the vector has one byte per page.
        check(unsafe { libc::mincore(self.base.as_ptr().cast(), len, residency.as_mut_ptr()) }, "mincore")?;
        let mut kept = 0;
        let mut start = 0;
        while start < pages {
            let resident = residency[start] & 1 == 1;
            let end = (start..pages).find(|&p| (residency[p] & 1 == 1) != resident).unwrap_or(pages);
            let (offset, bytes) = (start * page, ((end - start) * page).min(len - start * page));
            if resident && kept + bytes <= KEEP_RESIDENT {
                // SAFETY: inside the accessible (readable, writable) bytes, which no instance
                // uses any more: the memory owning this region is being dropped.
                unsafe { std::ptr::write_bytes(self.base.as_ptr().add(offset), 0, bytes) };
                kept += bytes;
            } else {
                self.drop_pages(offset, bytes)?;
            }
            start = end;
        }
        Ok(())
    }

    /// Hands `[offset, offset + bytes)` back to the kernel: it reads as zero afterwards.
    fn drop_pages(&mut self, offset: usize, bytes: usize) -> io::Result<()> {
        // SAFETY: inside our reservation; MADV_DONTNEED on a private anonymous mapping only
        // replaces the pages with zero-fill-on-demand ones.
        check(unsafe { libc::madvise(self.base.as_ptr().add(offset).cast(), bytes, libc::MADV_DONTNEED) }, "madvise")
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: our own mapping, unmapped once, with no instance left using it.
        unsafe { libc::munmap(self.base.as_ptr().cast(), reservation()) };
    }
}

static POOL: Mutex<Vec<Region>> = Mutex::new(Vec::new());

fn take(bytes: usize) -> io::Result<Region> {
    let pooled = pool().pop();
    let mut region = match pooled {
        Some(region) => region,
        None => Region::map()?,
    };
    region.set_accessible(bytes)?;
    Ok(region)
}

fn pool() -> std::sync::MutexGuard<'static, Vec<Region>> {
    POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Pools `region` if there is room, zeroed first; otherwise (or if it cannot be zeroed) it is
/// unmapped, without zeroing memory that is about to go.
fn give_back(mut region: Region) {
    if pool().len() >= POOL_SLOTS || region.zero().is_err() {
        return;
    }
    let mut pool = pool();
    if pool.len() < POOL_SLOTS {
        pool.push(region);
    }
}

/// A linear memory in a pooled [`Region`].
#[derive(Debug)]
struct PooledMemory {
    /// `None` only while being dropped.
    region: Option<Region>,
    /// The declared type (its minimum is the initial size).
    ty: MemoryType,
    /// Where the compiled code reads the base and length: inside the instance's `VMContext`.
    definition: NonNull<VMMemoryDefinition>,
}

// SAFETY: see Region; the definition pointer is into the owning instance, which moves with it.
unsafe impl Send for PooledMemory {}
// SAFETY: see Region.
unsafe impl Sync for PooledMemory {}

impl PooledMemory {
    /// # Safety
    /// `definition` must point to the instance's memory definition and stay valid while the
    /// memory lives (wasmer's contract for `create_vm_memory`).
    unsafe fn new(ty: &MemoryType, definition: NonNull<VMMemoryDefinition>) -> Result<Self, MemoryError> {
        let max_pages = MemoryStyle::static_bound();
        if ty.minimum > max_pages {
            return Err(MemoryError::MinimumMemoryTooLarge { min_requested: ty.minimum, max_allowed: max_pages });
        }
        if let Some(maximum) = ty.maximum {
            if maximum > max_pages {
                return Err(MemoryError::MaximumMemoryTooLarge { max_requested: maximum, max_allowed: max_pages });
            }
            if maximum < ty.minimum {
                return Err(MemoryError::InvalidMemory {
                    reason: format!("the maximum ({} pages) is below the minimum ({} pages)", maximum.0, ty.minimum.0),
                });
            }
        }
        let bytes = ty.minimum.0 as usize * WASM_PAGE_SIZE;
        let region = take(bytes).map_err(|e| MemoryError::Region(e.to_string()))?;
        // SAFETY: the caller's contract: a valid, exclusively ours definition.
        unsafe { *definition.as_ptr() = VMMemoryDefinition { base: region.base.as_ptr(), current_length: bytes } };
        Ok(PooledMemory { region: Some(region), ty: *ty, definition })
    }

    fn length(&self) -> usize {
        // SAFETY: the definition outlives the memory (constructor's contract).
        unsafe { self.definition.as_ref().current_length }
    }
}

impl LinearMemory for PooledMemory {
    fn ty(&self) -> MemoryType {
        MemoryType { minimum: self.size(), ..self.ty }
    }

    fn size(&self) -> Pages {
        Pages((self.length() / WASM_PAGE_SIZE) as u32)
    }

    fn style(&self) -> MemoryStyle {
        MemoryStyle::Static
    }

    fn grow(&mut self, delta: Pages) -> Result<Pages, MemoryError> {
        let current = self.size();
        let refuse = MemoryError::CouldNotGrow { current, attempted_delta: delta };
        if delta.0 == 0 {
            return Ok(current);
        }
        let new = current.checked_add(delta).ok_or(refuse.clone())?;
        if new > MemoryStyle::static_bound() || self.ty.maximum.is_some_and(|maximum| new > maximum) {
            return Err(refuse);
        }
        let bytes = new.0 as usize * WASM_PAGE_SIZE;
        let region = self.region.as_mut().ok_or(refuse)?;
        region.set_accessible(bytes).map_err(|e| MemoryError::Region(e.to_string()))?;
        // SAFETY: the definition outlives the memory (constructor's contract).
        unsafe { (*self.definition.as_ptr()).current_length = bytes };
        Ok(current)
    }

    fn grow_at_least(&mut self, min_size: u64) -> Result<(), MemoryError> {
        let current = self.length() as u64;
        if current < min_size {
            let pages = (min_size - current).div_ceil(WASM_PAGE_SIZE as u64);
            self.grow(Pages(u32::try_from(pages).unwrap_or(u32::MAX)))?;
        }
        Ok(())
    }

    fn vmmemory(&self) -> NonNull<VMMemoryDefinition> {
        self.definition
    }

    fn try_clone(&self) -> Result<Box<dyn LinearMemory + Send + Sync + 'static>, MemoryError> {
        Err(MemoryError::MemoryNotShared)
    }

    fn copy(&self) -> Result<Box<dyn LinearMemory + Send + Sync + 'static>, MemoryError> {
        Err(MemoryError::UnsupportedOperation { message: "pooled memories are not copied".into() })
    }
}

impl Drop for PooledMemory {
    fn drop(&mut self) {
        if let Some(region) = self.region.take() {
            give_back(region);
        }
    }
}

/// wasmer's default tunables, except that instances' own static memories come from the pool.
pub(crate) struct PooledTunables;

impl Tunables for PooledTunables {
    fn memory_style(&self, memory: &MemoryType) -> MemoryStyle {
        BaseTunables::new().memory_style(memory)
    }

    fn table_style(&self, table: &TableType) -> TableStyle {
        BaseTunables::new().table_style(table)
    }

    fn create_host_memory(&self, ty: &MemoryType, style: &MemoryStyle) -> Result<VMMemory, MemoryError> {
        BaseTunables::new().create_host_memory(ty, style)
    }

    unsafe fn create_vm_memory(
        &self,
        ty: &MemoryType,
        style: &MemoryStyle,
        vm_definition_location: NonNull<VMMemoryDefinition>,
    ) -> Result<VMMemory, MemoryError> {
        if *style != MemoryStyle::Static || ty.shared {
            // SAFETY: forwarded with wasmer's own contract.
            return unsafe { BaseTunables::new().create_vm_memory(ty, style, vm_definition_location) };
        }
        // SAFETY: wasmer's contract for this function is the constructor's.
        let memory = unsafe { PooledMemory::new(ty, vm_definition_location)? };
        Ok(VMMemory::from_custom(Box::new(memory) as Box<dyn LinearMemory + Send + Sync>))
    }

    fn create_host_table(&self, ty: &TableType, style: &TableStyle) -> Result<VMTable, String> {
        BaseTunables::new().create_host_table(ty, style)
    }

    unsafe fn create_vm_table(
        &self,
        ty: &TableType,
        style: &TableStyle,
        vm_definition_location: NonNull<VMTableDefinition>,
    ) -> Result<VMTable, String> {
        // SAFETY: forwarded with wasmer's own contract.
        unsafe { BaseTunables::new().create_vm_table(ty, style, vm_definition_location) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(region: &Region) -> &[u8] {
        // SAFETY: the accessible bytes of a live region.
        unsafe { std::slice::from_raw_parts(region.base.as_ptr(), region.accessible) }
    }

    #[test]
    fn a_reused_memory_is_indistinguishable_from_a_fresh_one() {
        let page = WASM_PAGE_SIZE;
        let mut region = Region::map().expect("map");
        region.set_accessible(40 * page).expect("grow");
        // SAFETY: writes inside the accessible bytes.
        unsafe {
            let base = region.base.as_ptr();
            std::ptr::write_bytes(base.add(3), 0xAA, 5 * page); // a resident run
            *base.add(39 * page + 7) = 1; // an isolated page at the end
        }
        region.zero().expect("zero");
        assert!(bytes(&region).iter().all(|b| *b == 0), "zeroed in place");
        // Shrink and grow again: the bytes given up come back zero too.
        region.set_accessible(2 * page).expect("shrink");
        region.set_accessible(40 * page).expect("grow");
        assert!(bytes(&region).iter().all(|b| *b == 0));
    }

    #[test]
    fn touched_pages_beyond_the_budget_are_dropped_and_read_zero() {
        let mut region = Region::map().expect("map");
        let len = KEEP_RESIDENT + 2 * WASM_PAGE_SIZE;
        region.set_accessible(len).expect("grow");
        // SAFETY: writes inside the accessible bytes.
        unsafe { std::ptr::write_bytes(region.base.as_ptr(), 0x55, len) };
        region.zero().expect("zero");
        assert!(bytes(&region).iter().all(|b| *b == 0));
    }
}
