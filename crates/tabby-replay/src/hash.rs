//! One fast hasher for the maps on the per-record path (replay's tallies and memo,
//! recommend's distinct flows and endpoints): std's SipHash costs more than the
//! rest of handling a record.

use std::hash::{BuildHasher, Hasher};

/// A fast keyed hasher: each word is folded into the state by a 64×64→128-bit multiply.
/// The seed is random per process (drawn from std's `RandomState`), so crafted logs cannot
/// aim for collisions; and a collision only costs a comparison, never a wrong answer.
#[derive(Debug, Clone, Copy)]
pub struct FoldHasher(u64);

fn fold(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

const FOLD_MUL: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for FoldHasher {
    fn finish(&self) -> u64 {
        fold(self.0, 0x2D35_8DCC_AA6C_78A5)
    }
    fn write(&mut self, bytes: &[u8]) {
        self.write_u64(bytes.len() as u64);
        for c in bytes.chunks(8) {
            let mut w = [0u8; 8];
            if let Some(dst) = w.get_mut(..c.len()) {
                dst.copy_from_slice(c);
            }
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u16(&mut self, i: u16) {
        self.write_u64(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = fold(self.0 ^ i, FOLD_MUL);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

/// Builds [`FoldHasher`]s with one random seed.
#[derive(Debug, Clone, Copy)]
pub struct FoldBuild(u64);

impl Default for FoldBuild {
    fn default() -> Self {
        Self(std::collections::hash_map::RandomState::new().hash_one(0x5EED_u64) | 1)
    }
}

impl BuildHasher for FoldBuild {
    type Hasher = FoldHasher;
    fn build_hasher(&self) -> FoldHasher {
        FoldHasher(self.0)
    }
}
