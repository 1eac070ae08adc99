//! A map from CRIU's 32-bit object ids (file ids, shared-memory ids) to values.
//!
//! CRIU hands ids out from counters that start at 1, so in every image it writes they are small
//! and dense: an array indexed by id finds one with a load where a `HashMap` spends a SipHash
//! (`x fds` on 4 000 files did 24 000 of them, a tenth of its instructions) and keeps each value
//! in a table twice its size. Ids beyond what the image could hold densely (a hand-made or
//! corrupt image can name any `u32`) go to a sorted map instead, so a hostile id costs a few
//! comparisons, never an allocation sized by the id.

use std::collections::BTreeMap;

/// Values by id: ids below a bound set from the number of entries in an array, the rest sorted.
#[derive(Clone, Debug)]
pub(crate) struct IdMap<V> {
    dense: Vec<Option<V>>,
    sparse: BTreeMap<u32, V>,
    /// Ids below this are kept in `dense`.
    bound: u32,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap::for_entries(0)
    }
}

impl<V> IdMap<V> {
    /// A map for about `entries` ids: ids up to twice that (and a few thousand more, for the ids
    /// other images take from the same counter) are indexed densely.
    pub(crate) fn for_entries(entries: usize) -> Self {
        let bound = entries.saturating_mul(2).saturating_add(4096).min(u32::MAX as usize) as u32;
        IdMap { dense: Vec::new(), sparse: BTreeMap::new(), bound }
    }

    /// The value of `id`.
    #[inline]
    pub(crate) fn get(&self, id: u32) -> Option<&V> {
        if id < self.bound { self.dense.get(id as usize)?.as_ref() } else { self.sparse.get(&id) }
    }

    /// Stores `value` for `id` unless `id` has one: `Err` with the value already there.
    pub(crate) fn insert_new(&mut self, id: u32, value: V) -> Result<(), &mut V> {
        let mut fresh = false;
        let slot = self.get_or_insert_with(id, || {
            fresh = true;
            value
        });
        if fresh { Ok(()) } else { Err(slot) }
    }

    /// Stores `value` for `id` unless it has one, and returns the value stored.
    pub(crate) fn get_or_insert_with(&mut self, id: u32, value: impl FnOnce() -> V) -> &mut V {
        if id < self.bound {
            let i = id as usize;
            if i >= self.dense.len() {
                // Grows with the largest id seen, which `bound` caps at a few times the entries.
                self.dense.resize_with(i + 1, || None);
            }
            self.dense[i].get_or_insert_with(value)
        } else {
            self.sparse.entry(id).or_insert_with(value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::IdMap;

    #[test]
    fn dense_and_sparse_ids_behave_alike() {
        let mut m = IdMap::for_entries(4);
        // Dense (below 4 + 4 096 * ...), at the bound and far beyond it.
        for id in [1u32, 7, 4_103, 4_104, u32::MAX, 0] {
            assert_eq!(m.insert_new(id, id as u64 * 10), Ok(()));
            assert_eq!(m.insert_new(id, 1).map_err(|v| *v), Err(id as u64 * 10), "id {id} kept its first value");
        }
        for id in [1u32, 7, 4_103, 4_104, u32::MAX, 0] {
            assert_eq!(m.get(id), Some(&(id as u64 * 10)));
        }
        for id in [2u32, 4_102, 4_105, u32::MAX - 1] {
            assert_eq!(m.get(id), None);
        }
        *m.get_or_insert_with(5, || 50) += 1;
        assert_eq!(m.get(5), Some(&51));
        assert_eq!(*m.get_or_insert_with(5, || 0), 51);
        // A huge id does not grow the array.
        assert!(m.dense.len() <= 4_104);
    }
}
