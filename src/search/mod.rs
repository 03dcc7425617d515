//! Search by what people type: Chinese text, pinyin, initials, English names.
//!
//! A [`SearchIndex`] belongs to one generation of the data ([`Atlas`]), which
//! builds it the first time someone searches ([`Atlas::search_index`]): publishing
//! a generation costs nothing until then. It is two-level, as the generation is:
//! the index of the base (a [`Core`], about a second and 200 MB at a million
//! facilities) is built once per base and shared by every generation over it, and
//! each generation adds a small overlay for its delta ([`overlay`]: the delta's
//! facilities in a `Core` of their own, the base's dead ones turned away, the
//! places it touches counted again), so an edit costs the next search a
//! millisecond, not a rebuild. The answers are those of one index over the folded
//! data: the two parts' matches of each kind are merged nearest first, then by id.
//! When search is in use, the background rebuild of a base builds the new base's
//! index before the new base is published ([`SearchIndex::prepare`]).
//!
//! # Matching
//! A facility's searched text is its name, English name, address, city, district
//! and operator, normalised (ASCII and full-width letters and digits folded to
//! lower-case ASCII). How well it matches decides its
//! place in the answer, [`MatchKind`] by [`MatchKind`]:
//! 1. **exact** name (or English name, word for word);
//! 2. **name prefix**: the name starts with the query (the English name's first
//!    words, the last one cut short);
//! 3. **name substring**: the name holds the query (every word of a latin query
//!    starts a word of the English name);
//! 4. **pinyin** (latin queries): the query spells the name's pinyin from some
//!    character on, in full or in initials (`linyi`, `ly` → 临沂…);
//! 5. **field**: the address, city, district or operator holds the query (for a
//!    latin query: the pinyin of the city or district);
//! 6. **scattered** (Chinese): the query splits into pieces of two characters or
//!    more (the last may be one), each found in some field: `兰山驿站` finds
//!    兰山区's 工会驿站.
//!
//! Within a kind, the nearest first when the query gives a point (great-circle
//! distance), then by id.
//!
//! # Index
//! 1. Facilities are numbered by id (their *rank*), so every list below is in id
//!    order and an answer without a point is the first matches of each list.
//! 2. Character bigrams of the names (each character also paired with the end of
//!    its run, so every character begins a bigram), the names' first bigrams, and
//!    the addresses' bigrams not in the name. A query's bigrams select the
//!    candidates (for "name prefix", the first bigram among the names' first ones
//!    and the others among the names'; for "scattered", the first bigram and one
//!    of every two in a row), which are then checked against the text itself: no
//!    false matches, and no missed ones, since every kind implies its bigrams.
//! 3. English words and first words; exact names and English names by hash.
//! 4. Cities, districts and operators: few distinct values, each with its list,
//!    scanned whole per query (the cities and districts are also the places).
//! 5. For pinyin, no more than a table of the first letters each name bigram's
//!    characters can be read with: in full pinyin, the first character's readings
//!    must begin the query and the second's go on with it; in initials, the name
//!    must hold a bigram for every two letters in a row of the query.
//!
//! Every list knows how many facilities of each layer it holds.
//!
//! # Answering
//! Kind by kind, until `limit` facilities are found. Without a point: the
//! candidates in id order, checked until enough match. With a point, layer by
//! layer: a layer whose candidates are many and dense (matches near anywhere) is
//! walked outwards from the point through its nearest-neighbour tree until enough
//! match; otherwise (or when the walk goes on too long) the candidates are all
//! measured (their unit vectors are kept by rank) and checked nearest first until
//! enough match, so a query whose matches are all in one far city measures them
//! but checks few.

mod overlay;
mod pinyin;
mod places;
mod postings;
mod text;

#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::{DefaultHashBuilder, HashMap};
use rayon::prelude::*;

use self::overlay::Overlay;
pub use self::places::{Place, PlaceKind};
use self::postings::{List, Postings, Source};
use self::text::{Kind, Query, norm_char, stripped_into, words};
use crate::geodata::Dataset;
use crate::index::{Atlas, Walk, sphere};
use crate::model::{Facility, Layer, LayerSet, LonLat};

/// The most places one answer lists.
pub const MAX_PLACES: usize = 10;

// Which way a search from a point goes decides its speed, never its answer: the
// tests' small data sets take every way with thresholds made smaller to match.

/// Candidate sets (of one layer) up to this size are always measured whole.
const SMALL: usize = if cfg!(test) { 256 } else { 2048 };

/// A walk outwards from the query point is tried when the matches, were they
/// spread evenly, would be found within this many visits per match wanted...
const WALK_VISITS_PER_MATCH: usize = 16;

/// ...and given up after this many visits (then the candidates are measured whole).
const WALK_BUDGET: usize = if cfg!(test) { 256 } else { 4096 };

/// How often a search from a point walked a layer, gave a walk up, and measured
/// the candidates (the tests check that their data takes every way).
#[cfg(test)]
static WAYS: [std::sync::atomic::AtomicUsize; 3] =
    [const { std::sync::atomic::AtomicUsize::new(0) }; 3];

#[cfg(test)]
fn count_way(way: usize) {
    WAYS[way].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

#[cfg(not(test))]
fn count_way(_: usize) {}

/// How well a facility matches a query, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchKind {
    /// The name (or the English name, word for word) is the query.
    Exact,
    /// The name starts with the query.
    NamePrefix,
    /// The name holds the query.
    NameSubstring,
    /// The query spells the name's pinyin or its initials.
    Pinyin,
    /// The address, city, district or operator holds the query.
    Field,
    /// The query's pieces are found apart.
    Scattered,
}

impl MatchKind {
    /// Every kind, best first.
    pub const ALL: [MatchKind; 6] = [
        MatchKind::Exact,
        MatchKind::NamePrefix,
        MatchKind::NameSubstring,
        MatchKind::Pinyin,
        MatchKind::Field,
        MatchKind::Scattered,
    ];

    /// A short name (logs, reports).
    pub fn id(self) -> &'static str {
        match self {
            MatchKind::Exact => "exact",
            MatchKind::NamePrefix => "name_prefix",
            MatchKind::NameSubstring => "name",
            MatchKind::Pinyin => "pinyin",
            MatchKind::Field => "field",
            MatchKind::Scattered => "scattered",
        }
    }
}

/// A search.
#[derive(Clone, Debug)]
pub struct SearchQuery<'a> {
    /// What was typed.
    pub text: &'a str,
    /// Where from: sorts each kind of match by distance.
    pub origin: Option<LonLat>,
    /// Which facility layers (the park layer is ignored).
    pub layers: LayerSet,
    /// How many facilities at most.
    pub limit: usize,
}

/// One facility found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SearchHit {
    /// Index into [`Dataset::facilities`].
    pub facility: u32,
    /// How it matched.
    pub kind: MatchKind,
    /// Great-circle metres from the query's origin, when it has one.
    pub distance_m: Option<f64>,
}

/// What a search finds.
#[derive(Clone, Debug, Default)]
pub struct SearchResults<'a> {
    /// The facilities, best first.
    pub hits: Vec<SearchHit>,
    /// Cities and districts whose name matches.
    pub places: Vec<&'a Place>,
}

/// Sizes of an index, for reports.
#[derive(Clone, Copy, Debug)]
pub struct IndexStats {
    /// Entries in all posting lists.
    pub postings: usize,
    /// Distinct name and address bigrams.
    pub bigrams: usize,
    /// Distinct English words.
    pub words: usize,
    /// Cities and districts.
    pub places: usize,
    /// Bytes held on the heap, roughly.
    pub heap_bytes: usize,
}

/// The search index of one generation of the data: the base's index, shared by
/// every generation over the same base, and an overlay for the delta (see
/// [`overlay`]), built the first time the generation is searched.
pub struct SearchIndex {
    base: Arc<Core>,
    overlay: Option<Overlay>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Whose facilities a [`Core`] indexes, and which of them are alive.
enum Part<'a> {
    /// A generation's base (base indexes; the delta's tombstones are dead).
    Base(&'a Atlas),
    /// A generation's delta (its own indexes; all alive).
    Delta(&'a [Facility]),
}

impl Part<'_> {
    fn facility(&self, i: u32) -> &Facility {
        match self {
            Part::Base(atlas) => atlas.base_facility(i),
            Part::Delta(facilities) => &facilities[i as usize],
        }
    }

    fn alive(&self, i: u32) -> bool {
        match self {
            Part::Base(atlas) => {
                let dead = atlas.dead_facilities();
                dead.is_empty() || dead.binary_search(&i).is_err()
            }
            Part::Delta(_) => true,
        }
    }
}

impl SearchIndex {
    /// Builds the index of a dataset's facilities (in parallel), with no delta:
    /// to search it, the dataset must be the base of the [`Atlas`] searched, with
    /// no edits since (the benchmarks measure the build with this).
    pub fn new(data: &Dataset) -> Self {
        let facilities: Vec<&Facility> = data.facilities.iter().collect();
        SearchIndex {
            base: Arc::new(Core::new(&facilities, false)),
            overlay: None,
        }
    }

    /// The index of `atlas`: its base's (built now if no generation over the base
    /// has built it yet) and an overlay for its delta.
    pub(crate) fn of_generation(atlas: &Atlas) -> Self {
        let base = atlas.base_search(|| {
            let n = atlas.live_base_facility_count() + atlas.dead_facilities().len() as u32;
            let facilities: Vec<&Facility> = (0..n).map(|b| atlas.base_facility(b)).collect();
            Core::new(&facilities, false)
        });
        let changed =
            !atlas.delta_data().facilities.is_empty() || !atlas.dead_facilities().is_empty();
        let overlay = changed.then(|| Overlay::new(atlas, &base));
        SearchIndex { base, overlay }
    }

    /// Builds the index of a base rebuilt in the background before it is published
    /// (when search is in use), on the calling thread only: the other cores serve.
    pub(crate) fn prepare(atlas: &Atlas) {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build();
        match pool {
            Ok(pool) => pool.install(|| atlas.search_index()),
            Err(_) => atlas.search_index(),
        };
    }

    /// Sizes, for reports: the base's index and the overlay's together.
    pub fn stats(&self) -> IndexStats {
        let base = self.base.stats();
        let Some(o) = &self.overlay else {
            return base;
        };
        let more = o.core.stats();
        IndexStats {
            postings: base.postings + more.postings,
            bigrams: base.bigrams + more.bigrams,
            words: base.words + more.words,
            places: base.places - o.replaced.len() + o.places.len(),
            heap_bytes: base.heap_bytes + more.heap_bytes,
        }
    }

    /// The facilities matching `q`, best first, and the places. `atlas` must be
    /// the generation whose index this is.
    pub fn search<'s>(&'s self, atlas: &Atlas, q: &SearchQuery<'_>) -> SearchResults<'s> {
        let Some(query) = Query::parse(q.text) else {
            return SearchResults::default();
        };
        let places = match &self.overlay {
            None => places::find(self.base.places.iter(), &query, q.origin, MAX_PLACES),
            Some(o) => places::find(o.places(&self.base), &query, q.origin, MAX_PLACES),
        };
        let layers: LayerSet = q.layers.iter().filter(|l| l.is_facility()).collect();
        let o = q.origin.map(sphere::unit_vector);
        let delta = &atlas.delta_data().facilities;
        let offset = atlas.live_base_facility_count();
        let mut hits: Vec<SearchHit> = Vec::new();
        for kind in MatchKind::ALL {
            if hits.len() >= q.limit || layers.is_empty() {
                break;
            }
            let want = q.limit - hits.len();
            let part = Part::Base(atlas);
            let mut base = (self.base)
                .kind_hits(&part, &query, kind, layers, want, o)
                .into_iter()
                .peekable();
            let (mut extra, delta_rank) = match &self.overlay {
                Some(ov) => (
                    ov.core
                        .kind_hits(&Part::Delta(delta), &query, kind, layers, want, o),
                    ov.core.by_rank.as_slice(),
                ),
                None => (Vec::new(), &[][..]),
            };
            extra.reverse();
            // The two answers merged as one index over the folded data orders them:
            // nearest first, then by id (the base's and the delta's ids differ).
            while hits.len() < q.limit {
                let from_base = match (base.peek(), extra.last()) {
                    (None, None) => break,
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (Some(&(da, ra)), Some(&(db, rb))) => {
                        da.total_cmp(&db).then_with(|| {
                            let a = atlas.base_facility(self.base.by_rank[ra as usize]);
                            a.id().cmp(delta[delta_rank[rb as usize] as usize].id())
                        }) == std::cmp::Ordering::Less
                    }
                };
                let (facility, f) = if from_base {
                    let Some((_, r)) = base.next() else { break };
                    let b = self.base.by_rank[r as usize];
                    let Some(i) = atlas.facility_of_base(b) else {
                        continue;
                    };
                    (i, atlas.base_facility(b))
                } else {
                    let Some((_, r)) = extra.pop() else { break };
                    let j = delta_rank[r as usize];
                    (offset + j, &delta[j as usize])
                };
                hits.push(SearchHit {
                    facility,
                    kind,
                    distance_m: q.origin.map(|o| sphere::haversine_m(o, f.position)),
                });
            }
        }
        SearchResults { hits, places }
    }

    /// What [`SearchIndex::search`] answers, found by checking every facility of
    /// the generation and sorting: slow, and obviously right. The index is tested
    /// against it.
    pub fn search_by_scan(&self, atlas: &Atlas, q: &SearchQuery<'_>) -> Vec<SearchHit> {
        let Some(query) = Query::parse(q.text) else {
            return Vec::new();
        };
        let mut all: Vec<(SearchHit, &str)> = (0..atlas.facility_count() as u32)
            .filter_map(|i| {
                let f = atlas.facility(i);
                if !q.layers.contains(f.layer) || !f.layer.is_facility() {
                    return None;
                }
                let kind = text::best_kind(f, &query)?;
                let hit = SearchHit {
                    facility: i,
                    kind,
                    distance_m: q.origin.map(|o| sphere::haversine_m(o, f.position)),
                };
                Some((hit, f.id()))
            })
            .collect();
        all.sort_by(|(a, ia), (b, ib)| {
            a.kind
                .cmp(&b.kind)
                .then(
                    a.distance_m
                        .unwrap_or(0.0)
                        .total_cmp(&b.distance_m.unwrap_or(0.0)),
                )
                .then(ia.cmp(ib))
        });
        all.truncate(q.limit);
        all.into_iter().map(|(h, _)| h).collect()
    }
}

/// Facilities by the hash of a whole string (a name as typed).
#[derive(Default)]
struct Exact {
    hashes: Vec<u64>,
    ranks: Vec<u32>,
}

impl Exact {
    fn new(mut pairs: Vec<(u64, u32)>) -> Self {
        pairs.par_sort_unstable();
        let (hashes, ranks) = pairs.into_iter().unzip();
        Exact { hashes, ranks }
    }

    fn get<'s>(&'s self, hash: u64, layer_of: &[Layer]) -> List<'s> {
        let from = self.hashes.partition_point(|h| *h < hash);
        let to = self.hashes.partition_point(|h| *h <= hash);
        List::counted(&self.ranks[from..to.max(from)], layer_of)
    }
}

/// Which field a distinct value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Field {
    City,
    District,
    Operator,
}

/// A distinct city, district or operator and the facilities that name it.
struct Value {
    field: Field,
    /// Normalised.
    text: String,
    /// The first letters its characters' readings start with (see
    /// [`pinyin::first_letters`]).
    letters: u64,
    ranks: Vec<u32>,
    /// Its facilities per layer.
    layers: [u32; 4],
}

impl Value {
    fn list(&self) -> List<'_> {
        List {
            ranks: &self.ranks,
            layers: self.layers,
        }
    }
}

/// The index over one list of facilities: a base's (built once per base and shared
/// by every generation over it) or a delta's (small, one per generation). Its
/// facility indexes are those of the list (base indexes, or the delta's own).
pub(crate) struct Core {
    /// Facility index by rank (id order), and back.
    by_rank: Vec<u32>,
    rank_of: Vec<u32>,
    /// Each rank's layer (a filter without touching the facility), and its point
    /// on the unit sphere (distances without touching it).
    layer_of: Vec<Layer>,
    xyz: Vec<[f64; 3]>,
    /// Name bigrams, names' first bigrams, address bigrams not in the name.
    name2: Postings,
    first2: Postings,
    addr2: Postings,
    /// The first letters each name bigram's two characters can read as (see
    /// [`pinyin::first_letters`]), in the order of `name2`'s keys.
    name2_letters: Vec<(u64, u64)>,
    /// English words (by hash), first words, and the words themselves sorted
    /// (for prefixes) with their hashes.
    en_words: Postings,
    en_first: Postings,
    vocab: Vec<(Box<str>, u64)>,
    exact_name: Exact,
    exact_en: Exact,
    values: Vec<Value>,
    /// The places, in [`Place::key`] order.
    places: Vec<Place>,
    /// Each distinct value's slot in `values`, by field, by text as written.
    value_of: HashMap<Box<str>, [Option<u32>; 3]>,
    hasher: DefaultHashBuilder,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// The bigram key of two (normalised) characters; `'\0'` stands for the end of a run.
fn key(a: char, b: char) -> u64 {
    ((a as u64) << 32) | b as u64
}

const END: char = '\0';

/// The sets of bigram lists: names, names' first bigrams, addresses (less the
/// name's).
const NAME: usize = 0;
const FIRST: usize = 1;
const ADDRESS: usize = 2;

/// Calls `out` with the bigram keys of `s`: each character with the next, and the
/// last of each run (text between whitespace) with [`END`], so that every
/// character begins a key.
fn bigrams(s: &str, mut out: impl FnMut(u64)) {
    let mut prev: Option<char> = None;
    for c in s.chars() {
        if c.is_whitespace() {
            if let Some(p) = prev.take() {
                out(key(p, END));
            }
            continue;
        }
        let c = norm_char(c);
        if let Some(p) = prev {
            out(key(p, c));
        }
        prev = Some(c);
    }
    if let Some(p) = prev {
        out(key(p, END));
    }
}

/// The key of a name's first bigram (its first character with [`END`] when alone).
fn first_key(name: &str) -> Option<u64> {
    let mut chars = name.chars();
    let a = chars.next().filter(|c| !c.is_whitespace())?;
    let b = chars.next().filter(|c| !c.is_whitespace());
    Some(key(norm_char(a), b.map_or(END, norm_char)))
}

/// The keys from `(c, anything)` to `(c, last)`.
fn starting_with(c: char) -> (u64, u64) {
    (key(c, END), ((c as u64) << 32) | u64::from(u32::MAX))
}

#[derive(Default)]
struct TextSide {
    exact: Vec<(u64, u32)>,
    buf: String,
}

#[derive(Default)]
struct EnglishSide {
    exact: Vec<(u64, u32)>,
    /// Each word new to the chunk, by hash.
    words: Vec<(u64, Box<str>)>,
    word: String,
    joined: String,
}

impl Core {
    /// Builds the index of a list of facilities (in parallel); `quiet` logs the
    /// build at debug level (a delta's, one per generation).
    pub(crate) fn new(facilities: &[&Facility], quiet: bool) -> Self {
        let n = facilities.len();
        let started = std::time::Instant::now();
        // Sorted by the ids' first 16 bytes (most ids are shorter), then the ids.
        let id = |i: u32| facilities[i as usize].id();
        let mut by_id: Vec<(u128, u32)> = (0..n as u32)
            .into_par_iter()
            .map(|i| {
                let mut head = [0u8; 16];
                let bytes = id(i).as_bytes();
                let len = bytes.len().min(16);
                head[..len].copy_from_slice(&bytes[..len]);
                (u128::from_be_bytes(head), i)
            })
            .collect();
        by_id.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| id(a.1).cmp(id(b.1))));
        let by_rank: Vec<u32> = by_id.into_iter().map(|(_, i)| i).collect();
        let mut rank_of = vec![0u32; n];
        for (rank, i) in by_rank.iter().enumerate() {
            rank_of[*i as usize] = rank as u32;
        }
        let layer_of: Vec<Layer> = by_rank
            .iter()
            .map(|i| facilities[*i as usize].layer)
            .collect();
        let xyz = by_rank
            .par_iter()
            .map(|i| sphere::unit_vector(facilities[*i as usize].position))
            .collect();
        let hasher = DefaultHashBuilder::default();
        let fac = |rank: u32| facilities[by_rank[rank as usize] as usize];

        let text = || {
            Postings::build::<3, TextSide, _>(n, &layer_of, |rank, sink, side| {
                let f = fac(rank);
                bigrams(f.name(), |k| {
                    sink.add(NAME, k);
                });
                if let Some(k) = first_key(f.name()) {
                    sink.add(FIRST, k);
                }
                if let Some(a) = f.address() {
                    bigrams(a, |k| {
                        if !sink.has(NAME, k) {
                            sink.add(ADDRESS, k);
                        }
                    });
                }
                stripped_into(f.name(), &mut side.buf);
                side.exact.push((hasher.hash_one(side.buf.as_str()), rank));
            })
        };
        let english = || {
            Postings::build::<2, EnglishSide, _>(n, &layer_of, |rank, sink, side| {
                let Some(en) = fac(rank).name_en() else {
                    return;
                };
                side.joined.clear();
                for (i, w) in words(en).enumerate() {
                    side.word.clear();
                    if w.is_ascii() {
                        side.word.push_str(w);
                        side.word.make_ascii_lowercase();
                    } else {
                        side.word.extend(w.chars().flat_map(char::to_lowercase));
                    }
                    let h = hasher.hash_one(side.word.as_str());
                    if sink.add(0, h) {
                        side.words.push((h, side.word.as_str().into()));
                    }
                    if i == 0 {
                        sink.add(1, h);
                    } else {
                        side.joined.push(' ');
                    }
                    side.joined.push_str(&side.word);
                }
                side.exact
                    .push((hasher.hash_one(side.joined.as_str()), rank));
            })
        };
        let values = || {
            let mut index: HashMap<(Field, &str), usize> = HashMap::new();
            let mut values: Vec<Value> = Vec::new();
            let mut gather = places::Gather::default();
            for rank in 0..n as u32 {
                let f = fac(rank);
                for (field, v) in [
                    (Field::City, &f.city),
                    (Field::District, &f.district),
                    (Field::Operator, &f.operator),
                ] {
                    let Some(v) = v.as_deref() else { continue };
                    let slot = *index.entry((field, v)).or_insert_with(|| {
                        values.push(Value {
                            field,
                            text: text::normalised(v).into_owned(),
                            letters: v.chars().map(pinyin::first_letters).fold(0, |a, b| a | b),
                            ranks: Vec::new(),
                            layers: [0; 4],
                        });
                        values.len() - 1
                    });
                    values[slot].ranks.push(rank);
                    values[slot].layers[f.layer as usize] += 1;
                }
                gather.add(f.city.as_deref(), f.district.as_deref(), f.position);
            }
            let mut value_of: HashMap<Box<str>, [Option<u32>; 3]> = HashMap::new();
            for ((field, v), slot) in index {
                value_of.entry(v.into()).or_default()[field as usize] = Some(slot as u32);
            }
            (values, gather.places(), value_of)
        };

        let ((text, english), (values, places, value_of)) =
            rayon::join(|| rayon::join(text, english), values);
        let ([name2, first2, addr2], text_sides) = text;
        let name2_letters = name2
            .iter()
            .map(|(k, _)| {
                let [a, b] = [k >> 32, k & u64::from(u32::MAX)]
                    .map(|c| char::from_u32(c as u32).map_or(0, pinyin::first_letters));
                (a, b)
            })
            .collect();
        let ([en_words, en_first], en_sides) = english;
        let exact_name = Exact::new(text_sides.into_iter().flat_map(|s| s.exact).collect());
        let mut exact_en = Vec::new();
        let mut vocab: Vec<(Box<str>, u64)> = Vec::new();
        for side in en_sides {
            exact_en.extend(side.exact);
            vocab.extend(side.words.into_iter().map(|(h, w)| (w, h)));
        }
        vocab.sort_unstable();
        vocab.dedup();
        let ms = started.elapsed().as_secs_f64() * 1e3;
        if quiet {
            tracing::debug!(facilities = n, ms, "search overlay built");
        } else {
            tracing::info!(facilities = n, ms, "search index built");
        }
        Core {
            by_rank,
            rank_of,
            layer_of,
            xyz,
            name2,
            first2,
            addr2,
            name2_letters,
            en_words,
            en_first,
            vocab,
            exact_name,
            exact_en: Exact::new(exact_en),
            values,
            places,
            value_of,
            hasher,
        }
    }

    /// Sizes, for reports.
    pub fn stats(&self) -> IndexStats {
        let lists = [
            &self.name2,
            &self.first2,
            &self.addr2,
            &self.en_words,
            &self.en_first,
        ];
        let values: usize = self.values.iter().map(|v| v.ranks.len()).sum();
        IndexStats {
            postings: lists.iter().map(|p| p.entries()).sum::<usize>() + values,
            bigrams: self.name2.iter().count() + self.addr2.iter().count(),
            words: self.vocab.len(),
            places: self.places.len(),
            heap_bytes: lists.iter().map(|p| p.heap_bytes()).sum::<usize>()
                + values * 4
                + (self.by_rank.len() + self.rank_of.len()) * 4
                + self.layer_of.len()
                + self.xyz.len() * 24
                + (self.exact_name.ranks.len() + self.exact_en.ranks.len()) * 12
                + self.vocab.iter().map(|(w, _)| w.len() + 24).sum::<usize>(),
        }
    }

    /// This part's best matches of `kind` among `layers`, at most `want`, in the
    /// order of an answer: as (squared chord from the unit vector `o`, or 0.0
    /// without a point, rank), nearest first, then by rank (id order).
    #[allow(clippy::too_many_arguments)]
    fn kind_hits(
        &self,
        part: &Part<'_>,
        query: &Query,
        kind: MatchKind,
        layers: LayerSet,
        want: usize,
        o: Option<[f64; 3]>,
    ) -> Vec<(f64, u32)> {
        let Some(source) = self.source(query, kind) else {
            return Vec::new();
        };
        if source.estimate(layers) == 0 {
            return Vec::new();
        }
        let accept = |rank: u32| {
            let i = self.by_rank[rank as usize];
            layers.contains(self.layer_of[rank as usize])
                && part.alive(i)
                && text::is_best(part.facility(i), query, kind)
        };
        let Some(o) = o else {
            return (source.ascending().filter(|r| accept(*r)))
                .take(want)
                .map(|rank| (0.0, rank))
                .collect();
        };
        // Layer by layer: a layer's candidates may be many while another's are
        // few or none.
        let mut found: Vec<(f64, u32)> = Vec::new();
        for layer in layers.iter() {
            let one: LayerSet = [layer].into_iter().collect();
            let estimate = source.estimate(one);
            if estimate == 0 {
                continue;
            }
            let walked = match part {
                Part::Base(atlas) => self.walk(atlas, &source, &accept, want, o, layer, estimate),
                Part::Delta(_) => None,
            };
            found.extend(walked.unwrap_or_else(|| {
                count_way(2);
                self.scan(&source, &accept, want, o, one)
            }));
        }
        found.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        found.truncate(want);
        found
    }

    /// The `want` nearest matches among the source's candidates, as (squared chord,
    /// rank), nearest first: every candidate measured (cheap: the points are kept
    /// by rank), and checked nearest first until enough match.
    fn scan(
        &self,
        source: &Source<'_>,
        accept: &dyn Fn(u32) -> bool,
        want: usize,
        o: [f64; 3],
        layers: LayerSet,
    ) -> Vec<(f64, u32)> {
        let mut by_distance = Vec::with_capacity(source.estimate(layers));
        source.for_each_candidate(layers, |r| {
            if layers.contains(self.layer_of[r as usize]) {
                let d2 = sphere::chord2(&self.xyz[r as usize], &o);
                // Squared chords are not negative: their bits order like them.
                by_distance.push(Reverse((d2.to_bits(), r)));
            }
        });
        let mut heap = BinaryHeap::from(by_distance);
        let mut found: Vec<(f64, u32)> = Vec::new();
        let mut last = None;
        while found.len() < want {
            let Some(Reverse((d2, r))) = heap.pop() else {
                break;
            };
            // A candidate in several lists comes up once per list, in a row.
            if last.replace(r) == Some(r) {
                continue;
            }
            if source.may_hold(r) && accept(r) {
                found.push((f64::from_bits(d2), r));
            }
        }
        found
    }

    /// The `want` nearest matches of `layer`, found walking outwards from the unit
    /// vector `o` through the generation's tree (the base's facilities only: the
    /// delta's are the overlay's); `None` when the layer's candidates are few or
    /// sparse (measuring them all is cheaper) or the walk goes on too long.
    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        atlas: &Atlas,
        source: &Source<'_>,
        accept: &dyn Fn(u32) -> bool,
        want: usize,
        o: [f64; 3],
        layer: Layer,
        estimate: usize,
    ) -> Option<Vec<(f64, u32)>> {
        let total = atlas.layer_stats()[layer as usize].count;
        let visits_per_match = total / estimate.max(1) + 1;
        if estimate <= SMALL || visits_per_match > WALK_VISITS_PER_MATCH {
            return None;
        }
        let mut found: Vec<(f64, u32)> = Vec::new();
        let (mut visits, mut last, mut gave_up) = (0usize, 0.0f64, false);
        atlas.layer_nearest_walk(layer, o, |i, d2| {
            // Past `want`, only ties with the last one found (the order is by id).
            if found.len() >= want && d2 > last {
                return Walk::Stop;
            }
            visits += 1;
            if visits > WALK_BUDGET {
                gave_up = true;
                return Walk::Stop;
            }
            // The delta's facilities are the overlay's to find.
            let Some(b) = atlas.facility_base_index(i) else {
                return Walk::Continue;
            };
            let r = self.rank_of[b as usize];
            if source.may_hold(r) && accept(r) {
                found.push((sphere::chord2(&self.xyz[r as usize], &o), r));
                last = d2;
            }
            Walk::Continue
        });
        count_way(usize::from(gave_up));
        (!gave_up).then_some(found)
    }

    /// Lists holding every facility that can match `q` as `kind`; `None` when no
    /// facility can (pinyin for Chinese text, scattered for latin).
    fn source(&self, q: &Query, kind: MatchKind) -> Option<Source<'_>> {
        let n = q.chars.len();
        let c = &q.chars;
        // The query's bigrams after the first.
        let rest = || (1..n.saturating_sub(1)).map(|i| key(c[i], c[i + 1]));
        let b0 = if n >= 2 { key(c[0], c[1]) } else { 0 };
        Some(match (q.kind, kind) {
            (_, MatchKind::Exact) => {
                let hash = |s: &str| self.hasher.hash_one(s);
                let mut lists = vec![self.exact_name.get(hash(&q.stripped), &self.layer_of)];
                if q.kind == Kind::Latin {
                    lists.push(self.exact_en.get(hash(&q.words_joined()), &self.layer_of));
                }
                Source::any(lists)
            }
            // Every bigram in the name, the first one first.
            (Kind::Text, MatchKind::NamePrefix) if n >= 2 => rest()
                .fold(Source::any([self.first2.get(b0)]), |s, k| {
                    s.and([self.name2.get(k)])
                }),
            (Kind::Text, MatchKind::NamePrefix) => Source::any(self.with_char(c[0], &self.first2)),
            (Kind::Text, MatchKind::NameSubstring) if n >= 2 => rest()
                .fold(Source::any([self.name2.get(b0)]), |s, k| {
                    s.and([self.name2.get(k)])
                }),
            (Kind::Text, MatchKind::NameSubstring) => {
                Source::any(self.with_char(c[0], &self.name2))
            }
            // Every bigram in the address (or the name, whose bigrams the address
            // lists leave out), or a city, district or operator holding it all.
            (Kind::Text, MatchKind::Field) if n >= 2 => rest()
                .fold(
                    Source::any([self.name2.get(b0), self.addr2.get(b0)]),
                    |s, k| s.and([self.name2.get(k), self.addr2.get(k)]),
                )
                .or(Source::any(self.values_holding(&q.stripped))),
            (Kind::Text, MatchKind::Field) => {
                let mut lists = self.with_char(c[0], &self.name2);
                lists.extend(self.with_char(c[0], &self.addr2));
                lists.extend(self.values_holding(&q.stripped));
                Source::any(lists)
            }
            // The first bigram is inside the first piece; of any two bigrams in a
            // row, one is inside a piece.
            (Kind::Text, MatchKind::Scattered) if n >= 2 => {
                (1..n.saturating_sub(2)).fold(Source::any(self.anywhere(q, 0)), |s, i| {
                    let mut either = self.anywhere(q, i);
                    either.extend(self.anywhere(q, i + 1));
                    s.and(either)
                })
            }
            (Kind::Latin, MatchKind::NamePrefix) => {
                let first: Vec<List<'_>> = if q.words.len() == 1 {
                    self.vocab_with_prefix(&q.words[0])
                        .iter()
                        .map(|(_, h)| self.en_first.get(*h))
                        .collect()
                } else {
                    vec![self.en_first.get(self.hasher.hash_one(q.words[0].as_str()))]
                };
                q.words[1..]
                    .iter()
                    .fold(Source::any(first), |s, w| s.and(self.en_words_starting(w)))
            }
            (Kind::Latin, MatchKind::NameSubstring) => {
                let mut words = q.words.iter();
                let first = Source::any(words.next().map(|w| self.en_words_starting(w))?);
                words.fold(first, |s, w| s.and(self.en_words_starting(w)))
            }
            (Kind::Latin, MatchKind::Pinyin) => self.pinyin_source(q.letters.as_bytes()),
            (Kind::Latin, MatchKind::Field) => {
                let letters = q.letters.as_bytes();
                let first = letters.first().map_or(0, |b| pinyin::letter_bit(*b));
                Source::any(
                    self.values
                        .iter()
                        .filter(|v| {
                            v.field != Field::Operator
                                && v.letters & first != 0
                                && text::pinyin_matches(&v.text, letters)
                        })
                        .map(Value::list),
                )
            }
            (Kind::Text, _) | (Kind::Latin, _) => return None,
        })
    }

    /// Every list of `set` whose key starts with `c`.
    fn with_char<'s>(&'s self, c: char, set: &'s Postings) -> Vec<List<'s>> {
        let (lo, hi) = starting_with(c);
        set.range(lo, hi).map(|(_, l)| l).collect()
    }

    /// The facilities whose city, district or operator holds `needle`.
    fn values_holding(&self, needle: &str) -> Vec<List<'_>> {
        self.values
            .iter()
            .filter(|v| v.text.contains(needle))
            .map(Value::list)
            .collect()
    }

    /// Every facility holding the query's `i`-th bigram in some field.
    fn anywhere(&self, q: &Query, i: usize) -> Vec<List<'_>> {
        let k = key(q.chars[i], q.chars[i + 1]);
        let mut lists = vec![self.name2.get(k), self.addr2.get(k)];
        lists.extend(self.values_holding(q.piece(i, i + 2)));
        lists
    }

    /// The facilities with an English word starting with `prefix`.
    fn en_words_starting(&self, prefix: &str) -> Vec<List<'_>> {
        self.vocab_with_prefix(prefix)
            .iter()
            .map(|(_, h)| self.en_words.get(*h))
            .collect()
    }

    /// The English words starting with `prefix`, with their hashes.
    fn vocab_with_prefix(&self, prefix: &str) -> &[(Box<str>, u64)] {
        let from = self.vocab.partition_point(|(w, _)| w.as_ref() < prefix);
        let to = from + self.vocab[from..].partition_point(|(w, _)| w.starts_with(prefix));
        &self.vocab[from..to]
    }

    /// Where the names whose pinyin a latin query spells are: in full, the name
    /// bigrams whose first character's readings begin the query and whose second's
    /// go on with it (unless the first used it up); in initials, names holding a
    /// bigram for each two letters in a row of the query.
    fn pinyin_source(&self, letters: &[u8]) -> Source<'_> {
        let full = Source::any(self.pinyin_lists(letters));
        let bits: Vec<u64> = letters.iter().map(|b| pinyin::letter_bit(*b)).collect();
        // The bigrams whose first character can start with `a` and whose second
        // with `b` (anything, for a one-letter query).
        let pair = |a: u64, b: Option<u64>| {
            self.name2
                .iter()
                .zip(&self.name2_letters)
                .filter(move |(_, m)| m.0 & a != 0 && b.is_none_or(|b| m.1 & b != 0))
                .map(|((_, l), _)| l)
        };
        let Some(&first) = bits.first() else {
            return full;
        };
        let initials = bits
            .windows(2)
            .skip(1)
            .fold(Source::any(pair(first, bits.get(1).copied())), |s, w| {
                s.and(pair(w[0], Some(w[1])))
            });
        full.or(initials)
    }

    /// The name bigrams whose first character's readings begin the query in full
    /// pinyin and whose second's go on with it (unless the first used it up).
    fn pinyin_lists(&self, letters: &[u8]) -> Vec<List<'_>> {
        let mut found = Vec::new();
        let mut lists = self.name2.iter().peekable();
        let mut steps = Vec::new();
        while let Some((k, list)) = lists.next() {
            let first = (k >> 32) as u32;
            let group_end = |next: u64| (next >> 32) as u32 != first;
            steps.clear();
            if let Some(c) = char::from_u32(first) {
                pinyin::steps(c, letters, pinyin::Step::Full(0), |st| {
                    steps.push(st);
                    false
                });
            }
            let mut take = |k: u64, list| {
                if steps.is_empty() {
                    return;
                }
                let second = char::from_u32((k & u64::from(u32::MAX)) as u32).unwrap_or(END);
                let goes_on = steps.iter().any(|st| {
                    *st == pinyin::Step::Done
                        || (second != END && pinyin::steps(second, letters, *st, |_| true))
                });
                if goes_on {
                    found.push(list);
                }
            };
            take(k, list);
            while let Some((k, list)) = lists.next_if(|(k, _)| !group_end(*k)) {
                take(k, list);
            }
        }
        found
    }
}
