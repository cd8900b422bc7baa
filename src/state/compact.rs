//! Ordered maps and sets that hold their few entries in one sorted vector, and become a
//! `BTreeMap` past `SMALL_MAX` of them.
//!
//! Why: most of what a namespace holds comes in ones and twos (two interfaces, an address
//! each, a route or two), and a `BTreeMap` allocates a whole node of eleven slots for its
//! first entry: an interface map of two entries took 2.3 KB, an address set of one 240 B, and
//! at 10 000 namespaces the desired and the observed state were 30 MB each. A sorted vector
//! holds exactly what is there. A big map (a switch's namespace with 10 000 ports) is a
//! `BTreeMap` again, so an insert never costs more than O(log n) plus a move of at most
//! `SMALL_MAX` entries.
//!
//! The API is the part of `BTreeMap`'s and `BTreeSet`'s the state code uses, with the same
//! meaning; iteration is in key order whichever form holds the entries, equality is by the
//! entries, and serde sees a map (or, for a set, a sequence) exactly as it sees a `BTreeMap`
//! (`BTreeSet`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::collections::{btree_map, BTreeMap};
use std::fmt;

/// The most entries held in the sorted vector: moving up to this many on an insert is
/// cheaper than a tree node, and memory stays proportional to what is held.
const SMALL_MAX: usize = 16;

/// An ordered map: a sorted vector of at most `SMALL_MAX` entries, a `BTreeMap` beyond.
#[derive(Clone)]
pub struct CompactMap<K, V>(Repr<K, V>);

#[derive(Clone)]
enum Repr<K, V> {
    /// Sorted by key, no key twice.
    Small(Vec<(K, V)>),
    /// Once it held more than `SMALL_MAX`; it stays a tree if it shrinks again (no flapping
    /// between the two forms on a map that hovers at the threshold). Boxed, so that the map
    /// is as big as a `Vec` (the tree's pointer fits beside the vector's niche).
    #[allow(clippy::box_collection)]
    Big(Box<BTreeMap<K, V>>),
}

impl<K, V> Default for CompactMap<K, V> {
    fn default() -> Self {
        CompactMap(Repr::Small(Vec::new()))
    }
}

impl<K, V> CompactMap<K, V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Small(v) => v.len(),
            Repr::Big(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&mut self) {
        self.0 = Repr::Small(Vec::new());
    }

    /// The entries in key order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter(match &self.0 {
            Repr::Small(v) => IterRepr::Small(v.iter()),
            Repr::Big(m) => IterRepr::Big(m.iter()),
        })
    }

    /// The entries in key order, the values mutable.
    pub fn iter_mut(&mut self) -> IterMut<'_, K, V> {
        IterMut(match &mut self.0 {
            Repr::Small(v) => IterMutRepr::Small(v.iter_mut()),
            Repr::Big(m) => IterMutRepr::Big(m.iter_mut()),
        })
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator + Clone {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator + Clone {
        self.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.iter_mut().map(|(_, v)| v)
    }

    /// The first entry in key order.
    pub fn first_key_value(&self) -> Option<(&K, &V)> {
        self.iter().next()
    }
}

impl<K: Ord, V> CompactMap<K, V> {
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        match &self.0 {
            Repr::Small(v) => find(v, key).ok().map(|i| &v[i].1),
            Repr::Big(m) => m.get(key),
        }
    }

    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        match &mut self.0 {
            Repr::Small(v) => find(v, key).ok().map(|i| &mut v[i].1),
            Repr::Big(m) => m.get_mut(key),
        }
    }

    pub fn get_key_value<Q: Ord + ?Sized>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
    {
        match &self.0 {
            Repr::Small(v) => find(v, key).ok().map(|i| (&v[i].0, &v[i].1)),
            Repr::Big(m) => m.get_key_value(key),
        }
    }

    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.get(key).is_some()
    }

    /// Inserts or replaces; the value it replaced, if any (the key kept is the old one, as
    /// `BTreeMap` keeps it).
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match &mut self.0 {
            Repr::Small(v) => match find(v, &key) {
                Ok(i) => Some(std::mem::replace(&mut v[i].1, value)),
                Err(_) if v.len() == SMALL_MAX => {
                    let mut tree: BTreeMap<K, V> = std::mem::take(v).into_iter().collect();
                    tree.insert(key, value);
                    self.0 = Repr::Big(Box::new(tree));
                    None
                }
                Err(i) => {
                    grow(v);
                    v.insert(i, (key, value));
                    None
                }
            },
            Repr::Big(m) => m.insert(key, value),
        }
    }

    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        match &mut self.0 {
            Repr::Small(v) => find(v, key).ok().map(|i| v.remove(i).1),
            Repr::Big(m) => m.remove(key),
        }
    }

    /// Keeps only the entries for which `f` is true, in key order.
    pub fn retain(&mut self, mut f: impl FnMut(&K, &mut V) -> bool) {
        match &mut self.0 {
            Repr::Small(v) => v.retain_mut(|(k, v)| f(k, v)),
            Repr::Big(m) => m.retain(f),
        }
    }
}

/// Where `key` is in the sorted vector, or where it would go.
fn find<K: Borrow<Q>, Q: Ord + ?Sized, V>(v: &[(K, V)], key: &Q) -> Result<usize, usize> {
    v.binary_search_by(|(k, _)| k.borrow().cmp(key))
}

/// Room for one more entry: doubling from one (a `Vec` starts at four), so a map of one or
/// two entries holds no empty slots, and a growing one is still amortised O(1) a push.
fn grow<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact(v.len().max(1));
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for CompactMap<K, V> {
    /// Of two entries with one key, the later one stays (as in `BTreeMap`).
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut v: Vec<(K, V)> = iter.into_iter().collect();
        if v.len() > SMALL_MAX {
            return CompactMap(Repr::Big(Box::new(v.into_iter().collect())));
        }
        // Stable: equal keys keep their order, and the last of each run is the one kept.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(K, V)> = Vec::with_capacity(v.len());
        for (k, val) in v {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = val,
                _ => out.push((k, val)),
            }
        }
        out.shrink_to_fit();
        CompactMap(Repr::Small(out))
    }
}

impl<K: Ord, V> Extend<(K, V)> for CompactMap<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Ord, V> From<BTreeMap<K, V>> for CompactMap<K, V> {
    fn from(m: BTreeMap<K, V>) -> Self {
        if m.len() > SMALL_MAX {
            CompactMap(Repr::Big(Box::new(m)))
        } else {
            CompactMap(Repr::Small(m.into_iter().collect()))
        }
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> std::ops::Index<&Q> for CompactMap<K, V> {
    type Output = V;

    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry found for key")
    }
}

impl<K: PartialEq, V: PartialEq> PartialEq for CompactMap<K, V> {
    /// The same entries, whichever form holds them.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<K: Eq, V: Eq> Eq for CompactMap<K, V> {}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for CompactMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Serialize, V: Serialize> Serialize for CompactMap<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for CompactMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(d).map(CompactMap::from)
    }
}

/// The entries of a [`CompactMap`] in key order.
pub struct Iter<'a, K, V>(IterRepr<'a, K, V>);

enum IterRepr<'a, K, V> {
    Small(std::slice::Iter<'a, (K, V)>),
    Big(btree_map::Iter<'a, K, V>),
}

// By hand: a derive would ask for `K: Clone, V: Clone`, which copying references does not need.
impl<K, V> Clone for Iter<'_, K, V> {
    fn clone(&self) -> Self {
        Iter(match &self.0 {
            IterRepr::Small(i) => IterRepr::Small(i.clone()),
            IterRepr::Big(i) => IterRepr::Big(i.clone()),
        })
    }
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Small(i) => i.next().map(|(k, v)| (k, v)),
            IterRepr::Big(i) => i.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterRepr::Small(i) => i.size_hint(),
            IterRepr::Big(i) => i.size_hint(),
        }
    }
}

impl<K, V> DoubleEndedIterator for Iter<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Small(i) => i.next_back().map(|(k, v)| (k, v)),
            IterRepr::Big(i) => i.next_back(),
        }
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}

/// The entries of a [`CompactMap`] in key order, the values mutable.
pub struct IterMut<'a, K, V>(IterMutRepr<'a, K, V>);

enum IterMutRepr<'a, K, V> {
    Small(std::slice::IterMut<'a, (K, V)>),
    Big(btree_map::IterMut<'a, K, V>),
}

impl<'a, K, V> Iterator for IterMut<'a, K, V> {
    type Item = (&'a K, &'a mut V);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterMutRepr::Small(i) => i.next().map(|(k, v)| (&*k, v)),
            IterMutRepr::Big(i) => i.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterMutRepr::Small(i) => i.size_hint(),
            IterMutRepr::Big(i) => i.size_hint(),
        }
    }
}

impl<K, V> DoubleEndedIterator for IterMut<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterMutRepr::Small(i) => i.next_back().map(|(k, v)| (&*k, v)),
            IterMutRepr::Big(i) => i.next_back(),
        }
    }
}

impl<K, V> ExactSizeIterator for IterMut<'_, K, V> {}

/// The entries of a [`CompactMap`] in key order, by value.
pub struct IntoIter<K, V>(IntoIterRepr<K, V>);

enum IntoIterRepr<K, V> {
    Small(std::vec::IntoIter<(K, V)>),
    Big(btree_map::IntoIter<K, V>),
}

impl<K, V> Iterator for IntoIter<K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        match &mut self.0 {
            IntoIterRepr::Small(i) => i.next(),
            IntoIterRepr::Big(i) => i.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IntoIterRepr::Small(i) => i.size_hint(),
            IntoIterRepr::Big(i) => i.size_hint(),
        }
    }
}

impl<K, V> DoubleEndedIterator for IntoIter<K, V> {
    fn next_back(&mut self) -> Option<(K, V)> {
        match &mut self.0 {
            IntoIterRepr::Small(i) => i.next_back(),
            IntoIterRepr::Big(i) => i.next_back(),
        }
    }
}

impl<K, V> ExactSizeIterator for IntoIter<K, V> {}

impl<K, V> IntoIterator for CompactMap<K, V> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;

    fn into_iter(self) -> IntoIter<K, V> {
        IntoIter(match self.0 {
            Repr::Small(v) => IntoIterRepr::Small(v.into_iter()),
            Repr::Big(m) => IntoIterRepr::Big((*m).into_iter()),
        })
    }
}

impl<'a, K, V> IntoIterator for &'a CompactMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

impl<'a, K, V> IntoIterator for &'a mut CompactMap<K, V> {
    type Item = (&'a K, &'a mut V);
    type IntoIter = IterMut<'a, K, V>;

    fn into_iter(self) -> IterMut<'a, K, V> {
        self.iter_mut()
    }
}

/// An ordered set: a [`CompactMap`] of its members.
#[derive(Clone, PartialEq, Eq)]
pub struct CompactSet<T>(CompactMap<T, ()>);

impl<T> Default for CompactSet<T> {
    fn default() -> Self {
        CompactSet(CompactMap::new())
    }
}

impl<T> CompactSet<T> {
    pub fn new() -> Self {
        CompactSet(CompactMap::new())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn clear(&mut self) {
        self.0.clear()
    }

    /// The members in order.
    pub fn iter(&self) -> SetIter<'_, T> {
        SetIter(self.0.iter())
    }

    pub fn first(&self) -> Option<&T> {
        self.iter().next()
    }
}

impl<T: Ord> CompactSet<T> {
    /// Whether it was not there yet.
    pub fn insert(&mut self, value: T) -> bool {
        // A member already there stays (as in `BTreeSet`): nothing is replaced.
        if self.0.contains_key(&value) {
            return false;
        }
        self.0.insert(value, ());
        true
    }

    pub fn contains<Q: Ord + ?Sized>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        self.0.contains_key(value)
    }

    pub fn get<Q: Ord + ?Sized>(&self, value: &Q) -> Option<&T>
    where
        T: Borrow<Q>,
    {
        self.0.get_key_value(value).map(|(m, _)| m)
    }

    /// Whether it was there.
    pub fn remove<Q: Ord + ?Sized>(&mut self, value: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        self.0.remove(value).is_some()
    }

    pub fn retain(&mut self, mut f: impl FnMut(&T) -> bool) {
        self.0.retain(|k, _| f(k))
    }

    /// The members of `self` that are not in `other`, in order.
    pub fn difference<'a>(&'a self, other: &'a CompactSet<T>) -> impl Iterator<Item = &'a T> + 'a {
        self.iter().filter(move |m| !other.contains(*m))
    }
}

impl<T: Ord> FromIterator<T> for CompactSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        CompactSet(iter.into_iter().map(|m| (m, ())).collect())
    }
}

impl<T: Ord> Extend<T> for CompactSet<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for m in iter {
            self.insert(m);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for CompactSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl<T: Serialize> Serialize for CompactSet<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de, T: Ord + Deserialize<'de>> Deserialize<'de> for CompactSet<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // As `BTreeSet` reads one: a member given twice is there once.
        Vec::<T>::deserialize(d).map(|v| v.into_iter().collect())
    }
}

/// The members of a [`CompactSet`] in order.
pub struct SetIter<'a, T>(Iter<'a, T, ()>);

impl<T> Clone for SetIter<'_, T> {
    fn clone(&self) -> Self {
        SetIter(self.0.clone())
    }
}

impl<'a, T> Iterator for SetIter<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        self.0.next().map(|(k, _)| k)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<'a, T> DoubleEndedIterator for SetIter<'a, T> {
    fn next_back(&mut self) -> Option<&'a T> {
        self.0.next_back().map(|(k, _)| k)
    }
}

impl<T> ExactSizeIterator for SetIter<'_, T> {}

impl<T> IntoIterator for CompactSet<T> {
    type Item = T;
    type IntoIter = std::iter::Map<IntoIter<T, ()>, fn((T, ())) -> T>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter().map(|(k, ())| k)
    }
}

impl<'a, T> IntoIterator for &'a CompactSet<T> {
    type Item = &'a T;
    type IntoIter = SetIter<'a, T>;

    fn into_iter(self) -> SetIter<'a, T> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Keys in an order that is neither sorted nor reversed.
    fn shuffled(n: u32) -> Vec<u32> {
        (0..n).map(|i| (i * 7919) % n).collect()
    }

    fn both(n: u32) -> (CompactMap<u32, String>, BTreeMap<u32, String>) {
        let mut c = CompactMap::new();
        let mut b = BTreeMap::new();
        for k in shuffled(n) {
            assert_eq!(c.insert(k, format!("v{k}")), b.insert(k, format!("v{k}")));
        }
        (c, b)
    }

    fn same(c: &CompactMap<u32, String>, b: &BTreeMap<u32, String>) {
        assert_eq!(c.len(), b.len());
        assert!(c.iter().eq(b.iter()), "{c:?} != {b:?}");
        assert!(c.iter().rev().eq(b.iter().rev()));
        assert!(c.keys().eq(b.keys()));
        assert!(c.values().eq(b.values()));
        assert_eq!(serde_json::to_string(c).unwrap(), serde_json::to_string(b).unwrap());
        assert_eq!(format!("{c:?}"), format!("{b:?}"));
    }

    #[test]
    fn behaves_as_a_btreemap_small_and_past_the_threshold() {
        for n in [0, 1, 2, 3, SMALL_MAX as u32 - 1, SMALL_MAX as u32, SMALL_MAX as u32 + 1, 200] {
            let (mut c, mut b) = both(n);
            same(&c, &b);
            for k in 0..n + 2 {
                assert_eq!(c.get(&k), b.get(&k), "get {k} of {n}");
                assert_eq!(c.contains_key(&k), b.contains_key(&k));
            }
            // Replacing keeps the length and returns the old value.
            assert_eq!(c.insert(0, "new".into()), b.insert(0, "new".into()));
            same(&c, &b);
            if let (Some(x), Some(y)) = (c.get_mut(&1), b.get_mut(&1)) {
                x.push('!');
                y.push('!');
            }
            for (c, b) in c.values_mut().zip(b.values_mut()) {
                c.push('.');
                b.push('.');
            }
            for ((_, c), (_, b)) in (&mut c).into_iter().zip(&mut b) {
                c.push(',');
                b.push(',');
            }
            same(&c, &b);
            assert_eq!(c.remove(&2), b.remove(&2));
            assert_eq!(c.remove(&(n + 5)), b.remove(&(n + 5)));
            c.retain(|k, _| k % 3 != 0);
            b.retain(|k, _| k % 3 != 0);
            same(&c, &b);
            c.extend([(1000, "x".to_string()), (1, "y".to_string())]);
            b.extend([(1000, "x".to_string()), (1, "y".to_string())]);
            same(&c, &b);
            assert!(c.clone().into_iter().eq(b.clone()));
            assert!(c.clone().into_iter().rev().eq(b.clone().into_iter().rev()));
        }
    }

    #[test]
    fn a_map_is_as_small_as_a_vec() {
        assert_eq!(std::mem::size_of::<CompactMap<String, u64>>(), std::mem::size_of::<Vec<(String, u64)>>());
        assert_eq!(std::mem::size_of::<CompactSet<ipnetwork::IpNetwork>>(), 24);
    }

    #[test]
    fn iterates_in_key_order_whatever_the_insert_order() {
        let keys = ["eth1", "a", "lo2", "br0", "Z", "eth0"];
        let m: CompactMap<String, usize> = keys.iter().enumerate().map(|(i, k)| (k.to_string(), i)).collect();
        let mut sorted: Vec<&str> = keys.to_vec();
        sorted.sort();
        assert!(m.keys().map(String::as_str).eq(sorted));
        assert_eq!(m["br0"], 3);
        assert_eq!(m.get("eth0"), Some(&5));
        assert_eq!(m.first_key_value().map(|(k, _)| k.as_str()), Some("Z"));
    }

    #[test]
    fn a_small_and_a_big_map_of_the_same_entries_are_equal() {
        // Grown past the threshold, then shrunk back: a tree holding what a vector holds.
        let (mut big, _) = both(SMALL_MAX as u32 * 3);
        big.retain(|k, _| *k < 4);
        assert!(matches!(big.0, Repr::Big(_)));
        let (small, _) = both(4);
        assert!(matches!(small.0, Repr::Small(_)));
        assert_eq!(big, small);
        assert_eq!(serde_json::to_string(&big).unwrap(), serde_json::to_string(&small).unwrap());
        let mut other = small.clone();
        other.insert(2, "changed".into());
        assert_ne!(big, other);
    }

    #[test]
    fn collecting_keeps_the_last_value_of_a_key_as_a_btreemap_does() {
        for n in [5, SMALL_MAX * 2] {
            let pairs: Vec<(usize, usize)> = (0..n).map(|i| (i % 3, i)).chain([(7, 1), (7, 2)]).collect();
            let c: CompactMap<usize, usize> = pairs.iter().copied().collect();
            let b: BTreeMap<usize, usize> = pairs.iter().copied().collect();
            assert!(c.iter().eq(b.iter()), "{c:?} {b:?}");
        }
        let big: CompactMap<u32, u32> = (0..100).map(|i| (i, i)).collect();
        assert!(matches!(big.0, Repr::Big(_)));
    }

    #[test]
    fn a_large_map_stays_a_tree_and_inserts_in_log_time() {
        // 100 000 inserts in reverse order: quadratic in a vector (5e9 moves), instant in a tree.
        let mut c = CompactMap::new();
        for k in (0..100_000u32).rev() {
            c.insert(k, ());
        }
        assert_eq!(c.len(), 100_000);
        assert!(matches!(c.0, Repr::Big(_)));
        assert!(c.keys().copied().eq(0..100_000));
    }

    #[test]
    fn serde_output_and_input_are_a_btreemaps() {
        let (c, b) = both(20);
        assert_eq!(serde_json::to_string_pretty(&c).unwrap(), serde_json::to_string_pretty(&b).unwrap());
        let text = r#"{"3":"c","1":"a","2":"b"}"#;
        let c: CompactMap<String, String> = serde_json::from_str(text).unwrap();
        let b: BTreeMap<String, String> = serde_json::from_str(text).unwrap();
        assert!(c.iter().eq(b.iter()));
    }

    #[test]
    fn a_set_behaves_as_a_btreeset() {
        for n in [0u32, 1, 2, SMALL_MAX as u32 + 3] {
            let mut c = CompactSet::new();
            let mut b = BTreeSet::new();
            for k in shuffled(n).into_iter().chain(shuffled(n)) {
                assert_eq!(c.insert(k), b.insert(k));
            }
            assert_eq!(c.len(), b.len());
            assert!(c.iter().eq(b.iter()));
            assert_eq!(serde_json::to_string(&c).unwrap(), serde_json::to_string(&b).unwrap());
            assert_eq!(format!("{c:?}"), format!("{b:?}"));
            assert_eq!(c.contains(&1), b.contains(&1));
            assert_eq!(c.remove(&1), b.remove(&1));
            assert_eq!(c.remove(&1), b.remove(&1));
            let other: CompactSet<u32> = [0, 2, 4].into_iter().collect();
            let other_b: BTreeSet<u32> = [0, 2, 4].into_iter().collect();
            assert!(c.difference(&other).eq(b.difference(&other_b)));
            c.retain(|k| k % 2 == 0);
            b.retain(|k| k % 2 == 0);
            assert!(c.clone().into_iter().eq(b.clone()));
            let text = serde_json::to_string(&b).unwrap();
            let back: CompactSet<u32> = serde_json::from_str(&text).unwrap();
            assert_eq!(back, c);
        }
        let from_dupes: CompactSet<u32> = serde_json::from_str("[3,1,3,2]").unwrap();
        assert!(from_dupes.iter().copied().eq([1, 2, 3]));
    }
}
