//! Transparent huge pages off for the apiserver's process.
//!
//! mimalloc gives freed memory back to the kernel and faults it in again. On huge pages
//! a first export of a million pods faulted about 9 GB of 2 MB pages for a 4.2 GB peak,
//! and zeroing them was over half of the export's CPU (docs/architecture.md,
//! "Allocator"). mimalloc is built without its own `madvise(MADV_HUGEPAGE)` (feature
//! `no_thp`), which is enough where the kernel's THP mode is `madvise`; this covers
//! kernels set to `always`.

/// Turns transparent huge pages off for this process and the processes it starts (the
/// flag survives `fork` and `execve`). Call it first in `main`: memory faulted in before
/// keeps its pages.
pub fn disable() -> std::io::Result<()> {
    rustix::thread::disable_transparent_huge_pages(true).map_err(std::io::Error::from)
}
