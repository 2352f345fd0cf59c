//! A small fixed-width bitset over dense ids (`SelId`, `EndpointId`).

/// Bits stored in 64-bit words; grows on `insert`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    pub fn with_capacity(bits: usize) -> Self {
        Self {
            words: vec![0; bits.div_ceil(64)],
        }
    }

    pub fn insert(&mut self, bit: usize) {
        let w = bit / 64;
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        if let Some(word) = self.words.get_mut(w) {
            *word |= 1u64 << (bit % 64);
        }
    }

    #[inline]
    pub fn contains(&self, bit: usize) -> bool {
        self.words
            .get(bit / 64)
            .is_some_and(|w| (w >> (bit % 64)) & 1 == 1)
    }

    /// `self |= other`.
    pub fn union_with(&mut self, other: &BitSet) {
        if other.words.len() > self.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= *b;
        }
    }

    /// Drops trailing zero words so equal sets compare and hash equal.
    pub fn normalize(&mut self) {
        while self.words.last() == Some(&0) {
            self.words.pop();
        }
    }

    /// The raw words (bit `i` is bit `i % 64` of word `i / 64`).
    #[inline]
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let t = w.trailing_zeros() as usize;
                w &= w - 1;
                Some(i * 64 + t)
            })
        })
    }
}

/// Bit `bit` of raw words.
#[inline]
pub fn test_bit(words: &[u64], bit: usize) -> bool {
    words
        .get(bit / 64)
        .is_some_and(|w| (w >> (bit % 64)) & 1 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_contains_iter() {
        let mut b = BitSet::default();
        for i in [0, 5, 63, 64, 200] {
            b.insert(i);
        }
        assert!(b.contains(63) && b.contains(64) && !b.contains(65) && !b.contains(10_000));
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![0, 5, 63, 64, 200]);
        let mut c = BitSet::with_capacity(1000);
        c.insert(1);
        c.union_with(&b);
        c.normalize();
        assert_eq!(c.iter().count(), 6);
        assert!(!c.is_empty());
    }
}
