//! A chunked arena: stable `u32` handles, growth without copying, and at
//! most one chunk of unused capacity.
//!
//! Once the chunks hold [`PAGE_OUT_BYTES`], the elements are moved into
//! 2 MiB huge pages (ids unchanged) and the arena continues in huge pages
//! (see `huge.rs`: a TLB miss less per random node read), wasting at most
//! one page.

use super::huge::{HUGE_PAGE, HugeBuf, Zeroable};

/// Size of the chunked arena at which it moves to huge pages.
const PAGE_OUT_BYTES: usize = 4 << 20;

/// Arena of `T` in chunks of `1 << BITS` elements, with a free list.
pub(crate) struct Arena<T: Zeroable, const BITS: u32> {
    /// Until paged out; then empty.
    chunks: Vec<Vec<T>>,
    /// After paging out: [`Self::PER_PAGE`] elements each, id `i` at
    /// `pages[i / PER_PAGE][i % PER_PAGE]`.
    pages: Vec<HugeBuf<T>>,
    /// Elements used in the last page.
    page_used: usize,
    free: Vec<u32>,
    len: usize,
}

impl<T: Zeroable, const BITS: u32> Default for Arena<T, BITS> {
    fn default() -> Self {
        Arena {
            chunks: Vec::new(),
            pages: Vec::new(),
            page_used: 0,
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Zeroable, const BITS: u32> Arena<T, BITS> {
    const CHUNK: usize = 1 << BITS;
    /// Elements per huge page.
    const PER_PAGE: usize = {
        assert!(size_of::<T>() <= HUGE_PAGE);
        HUGE_PAGE / size_of::<T>()
    };

    #[inline]
    pub fn get(&self, id: u32) -> &T {
        let id = id as usize;
        if self.pages.is_empty() {
            &self.chunks[id >> BITS][id & (Self::CHUNK - 1)]
        } else {
            &self.pages[id / Self::PER_PAGE][id % Self::PER_PAGE]
        }
    }

    #[inline]
    pub fn get_mut(&mut self, id: u32) -> &mut T {
        let id = id as usize;
        if self.pages.is_empty() {
            &mut self.chunks[id >> BITS][id & (Self::CHUNK - 1)]
        } else {
            &mut self.pages[id / Self::PER_PAGE][id % Self::PER_PAGE]
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
        if need_chunk
            && self.pages.is_empty()
            && (self.chunks.len() << BITS) * size_of::<T>() >= PAGE_OUT_BYTES
        {
            self.page_out();
        }
        if !self.pages.is_empty() {
            if self.page_used == Self::PER_PAGE {
                self.pages.push(HugeBuf::page());
                self.page_used = 0;
            }
            let id = (self.pages.len() - 1) * Self::PER_PAGE + self.page_used;
            self.pages.last_mut().expect("page exists")[self.page_used] = value;
            self.page_used += 1;
            return u32::try_from(id).expect("arena holds fewer than 2^32 nodes");
        }
        if need_chunk {
            self.chunks.push(Vec::with_capacity(Self::CHUNK));
        }
        let n = self.chunks.len();
        let last = self.chunks.last_mut().expect("chunk exists");
        let id = (n - 1) * Self::CHUNK + last.len();
        last.push(value);
        u32::try_from(id).expect("arena holds fewer than 2^32 nodes")
    }

    /// Moves every element (the chunks are all full) into huge pages at
    /// the same ids; from now on the arena grows by pages.
    fn page_out(&mut self) {
        let n = self.chunks.len() << BITS;
        let mut pages: Vec<HugeBuf<T>> = (0..n.div_ceil(Self::PER_PAGE))
            .map(|_| HugeBuf::page())
            .collect();
        for (c, chunk) in self.chunks.iter_mut().enumerate() {
            for (j, v) in chunk.iter_mut().enumerate() {
                let id = (c << BITS) + j;
                std::mem::swap(&mut pages[id / Self::PER_PAGE][id % Self::PER_PAGE], v);
            }
        }
        self.page_used = n - (pages.len() - 1) * Self::PER_PAGE;
        self.pages = pages;
        self.chunks = Vec::new();
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
        let small = PAGE_OUT_BYTES.div_ceil(4000) * 4;
        let n = small + 3 * A::PER_PAGE + 5;
        let ids: Vec<u32> = (0..n).map(|i| a.alloc([(i % 251) as u8; 1000])).collect();
        assert_eq!(
            a.pages.len(),
            (small + 3 * A::PER_PAGE + 5).div_ceil(A::PER_PAGE)
        );
        assert!(a.chunks.is_empty());
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
        assert_eq!(a.heap_bytes() / HUGE_PAGE, a.pages.len());
    }
}
