//! A chunked arena: stable `u32` handles, growth without copying, and at
//! most one chunk of unused capacity.

/// Arena of `T` in chunks of `1 << BITS` elements, with a free list.
pub(crate) struct Arena<T, const BITS: u32> {
    chunks: Vec<Vec<T>>,
    free: Vec<u32>,
    len: usize,
}

impl<T, const BITS: u32> Default for Arena<T, BITS> {
    fn default() -> Self {
        Arena {
            chunks: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T, const BITS: u32> Arena<T, BITS> {
    const CHUNK: usize = 1 << BITS;

    #[inline]
    pub fn get(&self, id: u32) -> &T {
        &self.chunks[(id >> BITS) as usize][id as usize & (Self::CHUNK - 1)]
    }

    #[inline]
    pub fn get_mut(&mut self, id: u32) -> &mut T {
        &mut self.chunks[(id >> BITS) as usize][id as usize & (Self::CHUNK - 1)]
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
            self.chunks.push(Vec::with_capacity(Self::CHUNK));
        }
        let n = self.chunks.len();
        let last = self.chunks.last_mut().expect("chunk exists");
        let id = (n - 1) * Self::CHUNK + last.len();
        last.push(value);
        u32::try_from(id).expect("arena holds fewer than 2^32 nodes")
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
            + self.free.capacity() * 4
            + self.chunks.capacity() * std::mem::size_of::<Vec<T>>()
    }
}
