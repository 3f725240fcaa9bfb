//! Transparent huge pages for a partition's large buffers.
//!
//! A random read from a large partition is a TLB miss as well as a cache
//! miss with 4 KiB pages: on the 2-core VM this was tuned on, a dependent
//! random read from 64 MB costs ~270 ns with 4 KiB pages and ~200 ns with
//! 2 MiB pages. Linux hands out 2 MiB pages to memory advised with
//! `madvise(MADV_HUGEPAGE)` when THP is in `madvise` mode (the common
//! default), and never to plain heap memory. So the large buffers a
//! partition owns (the member index's table once it is 2 MiB or more, and
//! the record and leaf arenas' pages, see `slab.rs` and `arena.rs`) are
//! [`HugeBuf`]s: 2 MiB aligned when 2 MiB or larger, and advised before
//! their first touch so the kernel backs them with huge pages at the page
//! fault. Small partitions are unchanged (their buffers stay below the
//! threshold).
//!
//! Advice is only compiled with the `huge-pages` cargo feature (default)
//! on Linux, and skipped at run time when the environment variable
//! `LEADERBOARD_HUGE_PAGES` is `0`, `off`, `false` or `no` (read once), e.g. to measure
//! with and without. Without advice the same buffers are allocated, so
//! such a comparison isolates the page size.

use std::alloc::Layout;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// Size and alignment of a huge page (x86-64 and most aarch64 kernels).
pub(crate) const HUGE_PAGE: usize = 2 << 20;

/// Buffers smaller than this are never advised (nor huge-page aligned).
pub(crate) const MIN_ADVISED: usize = HUGE_PAGE;

/// Types whose all-zero bit pattern is a valid value.
///
/// # Safety
///
/// Implement only for plain-data types (integers, arrays and structs of
/// them, no drop glue) for which zeroed memory is a valid, initialised
/// value.
pub(crate) unsafe trait Zeroable {}

// SAFETY: integers and arrays of them are valid when zeroed.
unsafe impl Zeroable for u8 {}
// SAFETY: as above.
unsafe impl<T: Zeroable, const N: usize> Zeroable for [T; N] {}

/// Whether advice is compiled in and not switched off by the environment.
pub(crate) fn enabled() -> bool {
    #[cfg(all(feature = "huge-pages", target_os = "linux"))]
    {
        static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *ON.get_or_init(|| {
            !matches!(
                std::env::var("LEADERBOARD_HUGE_PAGES").as_deref(),
                Ok("0" | "off" | "false" | "no")
            )
        })
    }
    #[cfg(not(all(feature = "huge-pages", target_os = "linux")))]
    {
        false
    }
}

/// Advises the 2 MiB-aligned interior of `[ptr, ptr + len)` for huge pages
/// (nothing when `len` is below [`MIN_ADVISED`] or advice is off).
pub(crate) fn advise(ptr: *const u8, len: usize) {
    if len < MIN_ADVISED || !enabled() {
        return;
    }
    let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
    let end = (ptr as usize + len) / HUGE_PAGE * HUGE_PAGE;
    if end > start {
        #[cfg(all(feature = "huge-pages", target_os = "linux"))]
        // SAFETY: the range lies inside a live allocation the caller owns;
        // MADV_HUGEPAGE only changes how the kernel backs those pages, never
        // their contents. A failure (e.g. THP compiled out) is harmless.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

/// A fixed-size, zero-initialised heap buffer of `T`; when at least
/// [`MIN_ADVISED`] bytes it is aligned to [`HUGE_PAGE`] and advised for
/// huge pages before it is zeroed (see the module docs).
pub(crate) struct HugeBuf<T: Zeroable> {
    ptr: NonNull<T>,
    len: usize,
    layout: Layout,
}

// SAFETY: a `HugeBuf` owns its elements like a `Box<[T]>` does.
unsafe impl<T: Zeroable + Send> Send for HugeBuf<T> {}
// SAFETY: as for `Box<[T]>`: shared access only reads.
unsafe impl<T: Zeroable + Sync> Sync for HugeBuf<T> {}

impl<T: Zeroable> HugeBuf<T> {
    fn layout(len: usize) -> Layout {
        let bytes = len
            .checked_mul(size_of::<T>())
            .expect("buffer size fits in usize");
        let align = if bytes >= MIN_ADVISED {
            HUGE_PAGE
        } else {
            align_of::<T>()
        };
        Layout::from_size_align(bytes, align.max(align_of::<T>())).expect("valid buffer layout")
    }

    /// `len` zeroed elements.
    pub fn zeroed(len: usize) -> Self {
        Self::with_layout(len, Self::layout(len))
    }

    /// As many zeroed elements as fit in one huge page, allocated as one
    /// whole, aligned huge page (2 MiB of heap).
    pub fn page() -> Self {
        let len = HUGE_PAGE / size_of::<T>();
        let layout = Layout::from_size_align(HUGE_PAGE, HUGE_PAGE.max(align_of::<T>()))
            .expect("valid page layout");
        Self::with_layout(len, layout)
    }

    fn with_layout(len: usize, layout: Layout) -> Self {
        const { assert!(!std::mem::needs_drop::<T>()) };
        debug_assert!(len * size_of::<T>() <= layout.size());
        if layout.size() == 0 {
            return HugeBuf {
                ptr: NonNull::dangling(),
                len,
                layout,
            };
        }
        let ptr = if layout.size() >= MIN_ADVISED && enabled() {
            // SAFETY: the layout has a non-zero size.
            let p = unsafe { std::alloc::alloc(layout) };
            if !p.is_null() {
                advise(p, layout.size());
                // SAFETY: `p` is a fresh allocation of `layout.size()` bytes;
                // zeroing it now faults it in with the advised page size.
                unsafe { std::ptr::write_bytes(p, 0, layout.size()) };
            }
            p
        } else {
            // SAFETY: the layout has a non-zero size.
            unsafe { std::alloc::alloc_zeroed(layout) }
        };
        let Some(ptr) = NonNull::new(ptr.cast::<T>()) else {
            std::alloc::handle_alloc_error(layout)
        };
        HugeBuf { ptr, len, layout }
    }

    /// Bytes allocated.
    pub fn heap_bytes(&self) -> usize {
        self.layout.size()
    }
}

impl<T: Zeroable> Deref for HugeBuf<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        // SAFETY: `ptr` points at `len` initialised (zeroed, then only
        // written through `&mut`) elements owned by `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Zeroable> DerefMut for HugeBuf<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`, and `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Zeroable> Drop for HugeBuf<T> {
    fn drop(&mut self) {
        if self.layout.size() != 0 {
            // SAFETY: allocated in `with_layout` with this same layout; the
            // elements have no drop glue (checked there).
            unsafe { std::alloc::dealloc(self.ptr.as_ptr().cast(), self.layout) };
        }
    }
}

impl<T: Zeroable> Default for HugeBuf<T> {
    fn default() -> Self {
        HugeBuf::zeroed(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_buffers_are_plain_and_zeroed() {
        let mut b = HugeBuf::<u8>::zeroed(1000);
        assert_eq!(b.len(), 1000);
        assert!(b.iter().all(|&x| x == 0));
        b[999] = 7;
        assert_eq!(b[999], 7);
        assert!(HugeBuf::<u8>::default().is_empty());
    }

    #[test]
    fn large_buffers_are_huge_page_aligned_and_zeroed() {
        let mut b = HugeBuf::<u8>::zeroed(2 * HUGE_PAGE);
        assert_eq!(b.as_ptr() as usize % HUGE_PAGE, 0);
        assert!(b.iter().all(|&x| x == 0));
        b[2 * HUGE_PAGE - 1] = 1;
        assert_eq!(b.heap_bytes(), 2 * HUGE_PAGE);
        let p = HugeBuf::<[u8; 3000]>::page();
        assert_eq!((p.len(), p.heap_bytes()), (HUGE_PAGE / 3000, HUGE_PAGE));
        assert_eq!(p.as_ptr() as usize % HUGE_PAGE, 0);
        assert!(p.iter().all(|a| a.iter().all(|&x| x == 0)));
    }

    /// The advice reaches the kernel: the mapping holding an advised
    /// buffer carries the `hg` (MADV_HUGEPAGE) flag in /proc/self/smaps.
    #[cfg(all(feature = "huge-pages", target_os = "linux"))]
    #[test]
    fn large_buffers_are_advised() {
        let b = HugeBuf::<u8>::zeroed(2 * HUGE_PAGE);
        let at = b.as_ptr() as usize;
        let smaps =
            std::fs::read_to_string("/proc/self/smaps").expect("/proc/self/smaps is readable");
        let mut inside = false;
        let mut flags = None;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((lo, hi)) = range.split_once('-') {
                    if let (Ok(lo), Ok(hi)) =
                        (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
                    {
                        inside = lo <= at && at < hi;
                        continue;
                    }
                }
            }
            if inside {
                if let Some(f) = line.strip_prefix("VmFlags:") {
                    flags = Some(f.split_whitespace().map(str::to_owned).collect::<Vec<_>>());
                }
            }
        }
        let flags = flags.expect("the buffer's mapping is listed in /proc/self/smaps");
        assert_eq!(
            flags.iter().any(|f| f == "hg"),
            enabled(),
            "VmFlags {flags:?}"
        );
    }
}
