//! A chunked arena: stable `u32` handles, growth without copying, and at
//! most one chunk of unused capacity.
//!
//! Once the chunks hold [`PAGE_OUT_BYTES`], the elements are moved into
//! 2 MiB huge pages (ids unchanged; see `huge.rs`: a TLB miss less per
//! random node read). The arena then still grows by chunks (the *tail*),
//! and every time the tail holds a page's worth it is moved into a new
//! page, so no page is ever partly empty.

use super::huge::{HUGE_PAGE, HugeBuf, Zeroable};

/// Size of the chunked arena at which it moves to huge pages.
const PAGE_OUT_BYTES: usize = 2 << 20;

/// Arena of `T` in chunks of `1 << BITS` elements, with a free list.
pub(crate) struct Arena<T: Zeroable, const BITS: u32> {
    /// Full huge pages of [`Self::PER_PAGE`] elements: ids
    /// `0..pages.len() * PER_PAGE`, id `i` at `pages[i / PER_PAGE][i % PER_PAGE]`.
    pages: Vec<HugeBuf<T>>,
    /// The ids after the pages, `1 << BITS` per chunk.
    chunks: Vec<Vec<T>>,
    free: Vec<u32>,
    len: usize,
}

impl<T: Zeroable, const BITS: u32> Default for Arena<T, BITS> {
    fn default() -> Self {
        Arena {
            pages: Vec::new(),
            chunks: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Zeroable, const BITS: u32> Arena<T, BITS> {
    const CHUNK: usize = 1 << BITS;
    /// Chunks per huge page.
    const CHUNKS_PER_PAGE: usize = {
        assert!(size_of::<T>() << BITS <= HUGE_PAGE);
        HUGE_PAGE / (size_of::<T>() << BITS)
    };
    /// Elements per huge page (whole chunks).
    const PER_PAGE: usize = Self::CHUNKS_PER_PAGE << BITS;

    #[inline]
    pub fn get(&self, id: u32) -> &T {
        let id = id as usize;
        let base = self.pages.len() * Self::PER_PAGE;
        if id < base {
            &self.pages[id / Self::PER_PAGE][id % Self::PER_PAGE]
        } else {
            let r = id - base;
            &self.chunks[r >> BITS][r & (Self::CHUNK - 1)]
        }
    }

    #[inline]
    pub fn get_mut(&mut self, id: u32) -> &mut T {
        let id = id as usize;
        let base = self.pages.len() * Self::PER_PAGE;
        if id < base {
            &mut self.pages[id / Self::PER_PAGE][id % Self::PER_PAGE]
        } else {
            let r = id - base;
            &mut self.chunks[r >> BITS][r & (Self::CHUNK - 1)]
        }
    }

    /// Two distinct elements mutably at once.
    pub fn pair_mut(&mut self, a: u32, b: u32) -> (&mut T, &mut T) {
        assert_ne!(a, b, "pair_mut needs two distinct ids");
        let pa: *mut T = self.get_mut(a);
        let pb: *mut T = self.get_mut(b);
        // SAFETY: `a != b`, so the two references point at distinct
        // elements of the arena, and both live as long as `&mut self`.
        unsafe { (&mut *pa, &mut *pb) }
    }

    pub fn alloc(&mut self, value: T) -> u32 {
        self.len += 1;
        if let Some(id) = self.free.pop() {
            *self.get_mut(id) = value;
            return id;
        }
        let need_chunk = self.chunks.last().is_none_or(|c| c.len() == Self::CHUNK);
        if need_chunk {
            let paged = !self.pages.is_empty();
            let chunk_bytes = (self.chunks.len() << BITS) * size_of::<T>();
            if self.chunks.len() >= Self::CHUNKS_PER_PAGE
                && (paged || chunk_bytes >= PAGE_OUT_BYTES)
            {
                self.page_out();
            }
            self.chunks.push(Vec::with_capacity(Self::CHUNK));
        }
        let n = self.chunks.len();
        let last = self.chunks.last_mut().expect("chunk exists");
        let id = self.pages.len() * Self::PER_PAGE + (n - 1) * Self::CHUNK + last.len();
        last.push(value);
        u32::try_from(id).expect("arena holds fewer than 2^32 nodes")
    }

    /// Moves the first whole pages' worth of (full) chunks into huge pages
    /// at the same ids.
    fn page_out(&mut self) {
        let whole = self.chunks.len() / Self::CHUNKS_PER_PAGE;
        for moved in self
            .chunks
            .drain(..whole * Self::CHUNKS_PER_PAGE)
            .collect::<Vec<_>>()
            .chunks_mut(Self::CHUNKS_PER_PAGE)
        {
            let mut page = HugeBuf::<T>::page();
            for (c, chunk) in moved.iter_mut().enumerate() {
                for (j, v) in chunk.iter_mut().enumerate() {
                    std::mem::swap(&mut page[(c << BITS) + j], v);
                }
            }
            self.pages.push(page);
        }
        self.chunks.shrink_to(Self::CHUNKS_PER_PAGE + 1);
    }

    /// Marks `id` free; the value stays until the slot is reused.
    pub fn free(&mut self, id: u32) {
        self.len -= 1;
        self.free.push(id);
    }

    pub fn heap_bytes(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| c.capacity() * std::mem::size_of::<T>())
            .sum::<usize>()
            + self.pages.iter().map(HugeBuf::heap_bytes).sum::<usize>()
            + self.pages.capacity() * size_of::<HugeBuf<T>>()
            + self.free.capacity() * 4
            + self.chunks.capacity() * std::mem::size_of::<Vec<T>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_stay_valid_when_paged_out() {
        type A = Arena<[u8; 1000], 2>;
        let mut a = A::default();
        let n = PAGE_OUT_BYTES / 1000 + 3 * A::PER_PAGE + 5;
        let ids: Vec<u32> = (0..n).map(|i| a.alloc([(i % 251) as u8; 1000])).collect();
        assert!(a.pages.len() >= 4, "paged out");
        assert!(
            a.chunks.len() <= A::CHUNKS_PER_PAGE,
            "only a tail is chunked"
        );
        for (i, &id) in ids.iter().enumerate() {
            assert_eq!(id as usize, i);
            assert_eq!(a.get(id)[999], (i % 251) as u8);
        }
        let last = *ids.last().expect("ids");
        a.free(last);
        assert_eq!(a.alloc([7; 1000]), last);
        let (x, y) = a.pair_mut(ids[0], last);
        x[0] = 1;
        y[0] = 2;
        assert_eq!((a.get(ids[0])[0], a.get(last)[0]), (1, 2));
        // No partly used page: what is allocated is pages plus the tail.
        let tail = a.chunks.len() * A::CHUNK * 1000;
        assert!(a.heap_bytes() <= a.pages.len() * HUGE_PAGE + tail + (64 << 10));
    }
}
