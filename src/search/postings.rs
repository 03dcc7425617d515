//! Posting lists: for each key (a character bigram, a word), the facilities that
//! have it, as ascending ranks (a facility's place in id order, see
//! [`SearchIndex`](super::SearchIndex)), and the unions a query takes of them.
//!
//! Built in parallel: each chunk of facilities fills its own hash map of lists,
//! then the maps are merged key by key in chunk order, so every list comes out
//! ascending without a sort. Each list knows how many of its facilities each layer
//! has: a search from a point decides layer by layer how to find the nearest.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use hashbrown::HashMap;
use rayon::prelude::*;

use crate::model::{Layer, LayerSet};

/// A posting list and how many of its facilities each layer has.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct List<'a> {
    /// Ranks, ascending.
    pub ranks: &'a [u32],
    /// Facilities per layer (indexed by `Layer as usize`).
    pub layers: [u32; 4],
}

impl<'a> List<'a> {
    /// A list, counting its layers.
    pub fn counted(ranks: &'a [u32], layer_of: &[Layer]) -> Self {
        List {
            ranks,
            layers: count_layers(ranks, layer_of),
        }
    }

    /// How many of its facilities `layers` have.
    pub fn count_in(&self, layers: LayerSet) -> usize {
        layers
            .iter()
            .map(|l| self.layers[l as usize] as usize)
            .sum()
    }
}

/// Facilities per layer among `ranks`.
pub(crate) fn count_layers(ranks: &[u32], layer_of: &[Layer]) -> [u32; 4] {
    let mut counts = [0u32; 4];
    for r in ranks {
        if let Some(l) = layer_of.get(*r as usize) {
            counts[*l as usize] += 1;
        }
    }
    counts
}

/// Sorted keys, each with an ascending list of ranks.
#[derive(Default)]
pub(crate) struct Postings {
    keys: Vec<u64>,
    /// `starts[k]..starts[k + 1]` is key `k`'s list in `ranks`.
    starts: Vec<usize>,
    ranks: Vec<u32>,
    /// Key `k`'s facilities per layer.
    layers: Vec<[u32; 4]>,
}

impl Postings {
    /// The list of `key` (empty when no facility has it).
    pub fn get(&self, key: u64) -> List<'_> {
        match self.keys.binary_search(&key) {
            Ok(k) => self.list(k),
            Err(_) => List::default(),
        }
    }

    fn list(&self, k: usize) -> List<'_> {
        List {
            ranks: &self.ranks[self.starts[k]..self.starts[k + 1]],
            layers: self.layers[k],
        }
    }

    /// The keys in `lo..=hi` with their lists, in key order.
    pub fn range(&self, lo: u64, hi: u64) -> impl Iterator<Item = (u64, List<'_>)> {
        let from = self.keys.partition_point(|k| *k < lo);
        let to = self.keys.partition_point(|k| *k <= hi);
        (from..to.max(from)).map(move |k| (self.keys[k], self.list(k)))
    }

    /// Every key with its list, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, List<'_>)> {
        (0..self.keys.len()).map(move |k| (self.keys[k], self.list(k)))
    }

    /// How many entries all the lists hold together.
    pub fn entries(&self) -> usize {
        self.ranks.len()
    }

    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.keys.capacity() * 8
            + self.starts.capacity() * 8
            + self.ranks.capacity() * 4
            + self.layers.capacity() * 16
    }

    /// Builds `N` sets of lists over the ranks `0..n` in one pass: `emit(rank, sink,
    /// side)` adds one facility to the lists of its keys through `sink` (see
    /// [`Sink`]) and may note anything in its chunk's `side`, which is returned, one
    /// per chunk, in rank order. `layer_of` gives each rank's layer.
    pub fn build<const N: usize, S, F>(
        n: usize,
        layer_of: &[Layer],
        emit: F,
    ) -> ([Postings; N], Vec<S>)
    where
        S: Default + Send,
        F: Fn(u32, &mut Sink<N>, &mut S) + Sync,
    {
        let threads = rayon::current_num_threads().max(1);
        let chunk = (n / (threads * 4)).clamp(4096, 1 << 17);
        let parts: Vec<(Sink<N>, S)> = (0..n.div_ceil(chunk))
            .into_par_iter()
            .map(|c| {
                let mut sink = Sink {
                    lists: std::array::from_fn(|_| HashMap::new()),
                    rank: 0,
                };
                let mut side = S::default();
                for rank in c * chunk..((c + 1) * chunk).min(n) {
                    sink.rank = rank as u32;
                    emit(rank as u32, &mut sink, &mut side);
                }
                (sink, side)
            })
            .collect();
        let mut sides = Vec::with_capacity(parts.len());
        let mut by_set: [Vec<Lists>; N] = std::array::from_fn(|_| Vec::new());
        for (sink, side) in parts {
            sides.push(side);
            for (set, l) in by_set.iter_mut().zip(sink.lists) {
                set.push(l);
            }
        }
        let merged: Vec<Postings> = by_set
            .into_par_iter()
            .map(|set| merge(set, layer_of))
            .collect();
        let mut merged = merged.into_iter();
        let sets = std::array::from_fn(|_| merged.next().unwrap_or_default());
        (sets, sides)
    }
}

type Lists = HashMap<u64, Vec<u32>>;

/// Where one chunk's facilities are added to the lists of their keys.
pub(crate) struct Sink<const N: usize> {
    lists: [Lists; N],
    /// The facility being added.
    rank: u32,
}

impl<const N: usize> Sink<N> {
    /// Adds the facility to the list of `key` in set `set` (once, however often it
    /// is added); whether the key is new to this chunk.
    pub fn add(&mut self, set: usize, key: u64) -> bool {
        let rank = self.rank;
        match self.lists[set].entry(key) {
            hashbrown::hash_map::Entry::Occupied(mut list) => {
                let list = list.get_mut();
                if list.last() != Some(&rank) {
                    list.push(rank);
                }
                false
            }
            hashbrown::hash_map::Entry::Vacant(v) => {
                v.insert(vec![rank]);
                true
            }
        }
    }

    /// Whether the facility is in the list of `key` in set `set` already.
    pub fn has(&self, set: usize, key: u64) -> bool {
        self.lists[set]
            .get(&key)
            .is_some_and(|l| l.last() == Some(&self.rank))
    }
}

/// One set's chunk maps, merged key by key in chunk order.
fn merge(chunks: Vec<HashMap<u64, Vec<u32>>>, layer_of: &[Layer]) -> Postings {
    let mut keys: Vec<u64> = chunks.iter().flat_map(|m| m.keys().copied()).collect();
    keys.sort_unstable();
    keys.dedup();
    let total = chunks.iter().flat_map(|m| m.values()).map(Vec::len).sum();
    let mut ranks = Vec::with_capacity(total);
    let mut starts = Vec::with_capacity(keys.len() + 1);
    for key in &keys {
        starts.push(ranks.len());
        for m in &chunks {
            if let Some(list) = m.get(key) {
                ranks.extend_from_slice(list);
            }
        }
    }
    starts.push(ranks.len());
    let layers = starts
        .windows(2)
        .map(|w| count_layers(&ranks[w[0]..w[1]], layer_of))
        .collect();
    Postings {
        keys,
        starts,
        ranks,
        layers,
    }
}

/// Posting lists, one clause of a [`Source`]: the facilities in any of them.
type Clause<'a> = Vec<List<'a>>;

/// Clauses of more lists than this are not checked by [`Source::may_hold`] (a
/// binary search in each would cost more than the matcher).
const CHECKED_LISTS: usize = 8;

/// Where the candidates for one kind of match come from: a union of conjunctions,
/// each the facilities in every one of its clauses. It holds every facility that
/// can match, and others, which the matcher turns away.
#[derive(Default)]
pub(crate) struct Source<'a> {
    conjs: Vec<Vec<Clause<'a>>>,
}

fn clause_size(c: &Clause<'_>, layers: LayerSet) -> usize {
    c.iter().map(|l| l.count_in(layers)).sum()
}

fn clause_holds(c: &Clause<'_>, rank: u32) -> bool {
    c.len() > CHECKED_LISTS || c.iter().any(|l| l.ranks.binary_search(&rank).is_ok())
}

impl<'a> Source<'a> {
    /// The facilities in any of `lists`.
    pub fn any(lists: impl IntoIterator<Item = List<'a>>) -> Self {
        let clause: Clause<'a> = lists.into_iter().filter(|l| !l.ranks.is_empty()).collect();
        Source {
            conjs: vec![vec![clause]],
        }
    }

    /// Keeps only the facilities also in any of `lists`.
    pub fn and(mut self, lists: impl IntoIterator<Item = List<'a>>) -> Self {
        let clause: Clause<'a> = lists.into_iter().filter(|l| !l.ranks.is_empty()).collect();
        for conj in &mut self.conjs {
            conj.push(clause.clone());
        }
        self
    }

    /// Adds the facilities of `other`.
    pub fn or(mut self, other: Source<'a>) -> Self {
        self.conjs.extend(other.conjs);
        self
    }

    /// Each conjunction's smallest clause in `layers`: its candidates are taken
    /// from there.
    fn drivers(&self, layers: LayerSet) -> impl Iterator<Item = (usize, &Clause<'a>)> {
        self.conjs.iter().filter_map(move |conj| {
            conj.iter()
                .enumerate()
                .min_by_key(|(_, c)| clause_size(c, layers))
        })
    }

    /// An upper bound on the facilities of `layers` in the source (the sizes of
    /// the drivers).
    pub fn estimate(&self, layers: LayerSet) -> usize {
        self.drivers(layers)
            .map(|(_, c)| clause_size(c, layers))
            .sum()
    }

    /// Whether `rank` may be in the source (a clause of many lists counts as holding it).
    pub fn may_hold(&self, rank: u32) -> bool {
        self.conjs
            .iter()
            .any(|conj| !conj.is_empty() && conj.iter().all(|c| clause_holds(c, rank)))
    }

    /// Calls `f` with every candidate of the drivers for `layers` (of any layer:
    /// the caller filters) that the other clauses may hold, repeats included.
    pub fn for_each_candidate(&self, layers: LayerSet, mut f: impl FnMut(u32)) {
        for conj in &self.conjs {
            let Some((d, driver)) = conj
                .iter()
                .enumerate()
                .min_by_key(|(_, c)| clause_size(c, layers))
            else {
                continue;
            };
            // Clauses much larger than the driver seldom turn a candidate away:
            // those are left to the matcher, for the few candidates it looks at.
            let larger = clause_size(driver, layers).saturating_mul(8);
            for l in driver.iter().filter(|l| l.count_in(layers) > 0) {
                let mut others = Others::new(conj, d, larger);
                for r in l.ranks {
                    if others.hold(*r) {
                        f(*r);
                    }
                }
            }
        }
    }

    /// The facilities of the source, ascending, without repeats, lazily (the
    /// drivers merged, each candidate checked against its other clauses).
    pub fn ascending(&self) -> Box<dyn Iterator<Item = u32> + '_> {
        let mut parts: Vec<Box<dyn Iterator<Item = u32> + '_>> = Vec::new();
        let all = LayerSet::facilities();
        for conj in &self.conjs {
            let Some((d, driver)) = conj
                .iter()
                .enumerate()
                .min_by_key(|(_, c)| clause_size(c, all))
            else {
                continue;
            };
            let mut others = Others::new(conj, d, usize::MAX);
            parts.push(Box::new(union(driver).filter(move |r| others.hold(*r))));
        }
        match parts.len() {
            0 => Box::new(std::iter::empty()),
            1 => parts.pop().unwrap_or_else(|| Box::new(std::iter::empty())),
            _ => {
                let heads: Vec<_> = parts.into_iter().map(Iterator::peekable).collect();
                Box::new(Either { heads, last: None })
            }
        }
    }
}

/// A conjunction's clauses other than its driver, checked for ascending
/// candidates: each list is searched from where the last search ended, galloping
/// (cheap when the candidates are close together). Clauses of many lists count as
/// holding every candidate.
struct Others<'c, 'a> {
    clauses: Vec<(&'c Clause<'a>, Vec<usize>)>,
}

impl<'c, 'a> Others<'c, 'a> {
    /// The clauses of `conj` but `driver`, leaving out those larger than `larger`.
    fn new(conj: &'c [Clause<'a>], driver: usize, larger: usize) -> Self {
        let all = LayerSet::facilities();
        let mut clauses = conj
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                *i != driver && c.len() <= CHECKED_LISTS && clause_size(c, all) <= larger
            })
            .map(|(_, c)| (c, vec![0; c.len()]))
            .collect::<Vec<_>>();
        // The smallest first: the likeliest to turn a candidate away.
        clauses.sort_by_key(|(c, _)| clause_size(c, all));
        Others { clauses }
    }

    /// Whether every other clause holds `r` (not below the last one asked about).
    fn hold(&mut self, r: u32) -> bool {
        self.clauses.iter_mut().all(|(c, at)| {
            c.iter()
                .zip(at.iter_mut())
                .any(|(l, at)| gallop(l.ranks, at, r))
        })
    }
}

/// Moves `at` forward to the first entry of `list` not below `r` (looking 1, 2, 4…
/// entries ahead, then halving); whether that entry is `r`.
fn gallop(list: &[u32], at: &mut usize, r: u32) -> bool {
    let rest = &list[(*at).min(list.len())..];
    let mut step = 1;
    while step < rest.len() && rest[step - 1] < r {
        step *= 2;
    }
    let window = &rest[..step.min(rest.len())];
    let i = (step / 2).min(window.len())
        + window[(step / 2).min(window.len())..].partition_point(|x| *x < r);
    *at += i;
    list.get(*at) == Some(&r)
}

/// A clause's lists merged, ascending, without repeats.
fn union<'s>(lists: &'s [List<'s>]) -> Box<dyn Iterator<Item = u32> + 's> {
    match lists {
        [] => Box::new(std::iter::empty()),
        [one] => Box::new(one.ranks.iter().copied()),
        lists => {
            let heap: BinaryHeap<Reverse<(u32, usize, usize)>> = lists
                .iter()
                .enumerate()
                .filter_map(|(l, list)| list.ranks.first().map(|r| Reverse((*r, l, 0))))
                .collect();
            Box::new(Merge {
                lists,
                heap,
                last: None,
            })
        }
    }
}

/// A few ascending iterators merged, without repeats.
struct Either<'s> {
    heads: Vec<std::iter::Peekable<Box<dyn Iterator<Item = u32> + 's>>>,
    last: Option<u32>,
}

impl Iterator for Either<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        loop {
            let (i, _) = self
                .heads
                .iter_mut()
                .enumerate()
                .filter_map(|(i, h)| h.peek().map(|v| (i, *v)))
                .min_by_key(|(_, v)| *v)?;
            let v = self.heads[i].next()?;
            if self.last != Some(v) {
                self.last = Some(v);
                return Some(v);
            }
        }
    }
}

struct Merge<'s, 'a> {
    lists: &'s [List<'a>],
    heap: BinaryHeap<Reverse<(u32, usize, usize)>>,
    last: Option<u32>,
}

impl Iterator for Merge<'_, '_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        loop {
            let Reverse((rank, l, at)) = self.heap.pop()?;
            if let Some(next) = self.lists[l].ranks.get(at + 1) {
                self.heap.push(Reverse((*next, l, at + 1)));
            }
            if self.last != Some(rank) {
                self.last = Some(rank);
                return Some(rank);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn galloping_finds_what_binary_search_finds() {
        let list: Vec<u32> = (0..1000).map(|i| i * 3).collect();
        let mut at = 0;
        for r in 0..3100 {
            let before = at;
            assert_eq!(gallop(&list, &mut at, r), r % 3 == 0 && r < 3000, "{r}");
            assert!(at >= before);
            assert_eq!(at, list.partition_point(|x| *x < r));
        }
        assert!(!gallop(&[], &mut 0, 5));
    }

    #[test]
    fn lists_come_out_ascending_and_merged_across_chunks() {
        // 20,000 ranks over several chunks; key k holds the ranks divisible by k.
        // Even ranks are driver homes, odd ones courier stations.
        let n = 20_000;
        let layer_of: Vec<Layer> = (0..n)
            .map(|r| [Layer::DriverHome, Layer::CourierStation][r % 2])
            .collect();
        let ([p], sides) = Postings::build::<1, usize, _>(n, &layer_of, |rank, sink, side| {
            *side += 1;
            for k in [2u64, 3, 7, 3] {
                if (rank as u64).is_multiple_of(k) {
                    sink.add(0, k);
                    assert!(sink.has(0, k));
                }
            }
            assert!(!sink.has(0, 5));
        });
        assert_eq!(sides.iter().sum::<usize>(), n);
        let want = |k: u32| (0..n as u32).filter(|r| r % k == 0).collect::<Vec<_>>();
        assert_eq!(p.get(2).ranks, want(2));
        assert_eq!(p.get(3).ranks, want(3));
        assert_eq!(p.get(7).ranks, want(7));
        assert!(p.get(5).ranks.is_empty());
        assert_eq!(p.get(2).layers, [10_000, 0, 0, 0]);
        assert_eq!(p.get(3).layers, [3334, 3333, 0, 0]);
        assert_eq!(p.range(3, 7).map(|(k, _)| k).collect::<Vec<_>>(), [3, 7]);
        let all = LayerSet::facilities();
        let s = Source::any([p.get(2), p.get(3)]);
        let union: Vec<u32> = s.ascending().collect();
        let want_union: Vec<u32> = (0..n as u32).filter(|r| r % 2 == 0 || r % 3 == 0).collect();
        assert_eq!(union, want_union);
        assert_eq!(s.estimate(all), want(2).len() + want(3).len());
        let odd: LayerSet = [Layer::CourierStation].into_iter().collect();
        assert_eq!(s.estimate(odd), 3333);
        // (2 or 3) and 7, or 5 (none).
        let s = Source::any([p.get(2), p.get(3)])
            .and([p.get(7)])
            .or(Source::any([p.get(5)]));
        let got: Vec<u32> = s.ascending().collect();
        let want_and: Vec<u32> = (0..n as u32)
            .filter(|r| (r % 2 == 0 || r % 3 == 0) && r % 7 == 0)
            .collect();
        assert_eq!(got, want_and);
        assert_eq!(s.estimate(all), want(7).len());
        assert!(want_and.iter().all(|r| s.may_hold(*r)));
        assert!(!s.may_hold(1) && !s.may_hold(14 * 3 + 1));
        let mut seen = Vec::new();
        s.for_each_candidate(all, |r| seen.push(r));
        assert_eq!(seen, want_and);
        // Either of two conjunctions.
        let s = Source::any([p.get(7)]).or(Source::any([p.get(3)]).and([p.get(2)]));
        let got: Vec<u32> = s.ascending().collect();
        let want_or: Vec<u32> = (0..n as u32).filter(|r| r % 7 == 0 || r % 6 == 0).collect();
        assert_eq!(got, want_or);
    }
}
