//! Transparent huge pages off for the apiserver's process.
//!
//! mimalloc asks for huge pages (`madvise(MADV_HUGEPAGE)`) on the memory it maps, and
//! gives freed memory back to the kernel. A first export of a million pods then faulted
//! about 9 GB of 2 MB pages in and out for a 4.2 GB peak, and the kernel's zeroing of
//! them was over half of the CPU. With 4 KiB pages the same export took a third less
//! CPU (docs/architecture.md, "Allocator").

/// Turns transparent huge pages off for this process and the processes it starts (the
/// flag survives `fork` and `execve`). Call it first in `main`: memory faulted in before
/// keeps its pages.
pub fn disable() -> std::io::Result<()> {
    rustix::thread::disable_transparent_huge_pages(true).map_err(std::io::Error::from)
}
