//! What people type, normalised, and whether a facility's text matches it.
//!
//! Normalisation folds ASCII and full-width letters and digits to lower-case ASCII
//! (`Ｌinyi`, `１２号` → `linyi`, `12号`); every other character is compared as it
//! is. A query is **latin** when it holds nothing but ASCII and at least one letter
//! (`linyi`, `ly`, `Linyi driver`): it is matched against English names (word
//! prefixes) and against the pinyin of names, cities and districts. Any other query
//! is **text** (`临沂`, `兰山驿站`, `12号`): whitespace is dropped and it is matched
//! as Chinese text, by the rules of [`MatchKind`](super::MatchKind).

use std::borrow::Cow;

use super::MatchKind;
use super::pinyin;
use crate::model::Facility;

/// The character as the index and the matcher compare it.
pub(crate) fn norm_char(c: char) -> char {
    match c {
        'A'..='Z' => c.to_ascii_lowercase(),
        '\u{FF10}'..='\u{FF19}' | '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}' => {
            char::from_u32(c as u32 - 0xFEE0).map_or(c, |a| a.to_ascii_lowercase())
        }
        _ => c,
    }
}

/// Whether `s` holds a character that [`norm_char`] changes (checked on the bytes:
/// most text has none, and is then compared as it is).
fn needs_norm(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &x)| {
        x.is_ascii_uppercase()
            || (x == 0xEF
                && matches!(
                    (b.get(i + 1), b.get(i + 2)),
                    (Some(0xBC), Some(0x90..=0x99 | 0xA1..=0xBA)) | (Some(0xBD), Some(0x81..=0x9A))
                ))
    })
}

/// `s` normalised (borrowed when nothing changes).
pub(crate) fn normalised(s: &str) -> Cow<'_, str> {
    if needs_norm(s) {
        Cow::Owned(s.chars().map(norm_char).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// `s` normalised with its whitespace removed, into `out` (cleared first).
pub(crate) fn stripped_into(s: &str, out: &mut String) {
    out.clear();
    out.extend(s.chars().filter(|c| !c.is_whitespace()).map(norm_char));
}

/// The words of an English name: its runs of letters and digits.
pub(crate) fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Whether `word` starts with `prefix` (lower-case ASCII), ignoring ASCII case.
pub(crate) fn word_starts_with(word: &str, prefix: &str) -> bool {
    word.len() >= prefix.len()
        && word.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Which way a query is matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Chinese (or any non-ASCII) text: n-grams.
    Text,
    /// ASCII with letters: English words and pinyin.
    Latin,
}

/// A query, parsed once.
#[derive(Clone, Debug)]
pub(crate) struct Query {
    /// How it is matched.
    pub kind: Kind,
    /// Normalised, whitespace removed.
    pub stripped: String,
    /// The characters of `stripped`.
    pub chars: Vec<char>,
    /// Byte offset of each character of `stripped`, and its length last.
    bounds: Vec<usize>,
    /// Latin: the lower-case words (runs of ASCII letters and digits).
    pub words: Vec<String>,
    /// Latin: the words run together, for pinyin (`lin yi` → `linyi`).
    pub letters: String,
}

impl Query {
    /// Parses a query; `None` when nothing in it can match (blank).
    pub fn parse(raw: &str) -> Option<Query> {
        let mut stripped = String::new();
        stripped_into(raw, &mut stripped);
        if stripped.is_empty() {
            return None;
        }
        let chars: Vec<char> = stripped.chars().collect();
        let mut bounds: Vec<usize> = stripped.char_indices().map(|(i, _)| i).collect();
        bounds.push(stripped.len());
        let latin = stripped.is_ascii() && stripped.bytes().any(|b| b.is_ascii_alphabetic());
        let lower: String = raw.chars().map(norm_char).collect();
        let words: Vec<String> = if latin {
            lower
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect()
        } else {
            Vec::new()
        };
        let letters = words.concat();
        if latin && words.is_empty() {
            return None;
        }
        Some(Query {
            kind: if latin { Kind::Latin } else { Kind::Text },
            stripped,
            chars,
            bounds,
            words,
            letters,
        })
    }

    /// Characters `i..j` of the stripped query.
    pub fn piece(&self, i: usize, j: usize) -> &str {
        &self.stripped[self.bounds[i]..self.bounds[j]]
    }

    /// The English name's words joined by one space (the exact-match key).
    pub fn words_joined(&self) -> String {
        self.words.join(" ")
    }
}

/// The best way `f` matches `q`, if any.
pub(crate) fn best_kind(f: &Facility, q: &Query) -> Option<MatchKind> {
    MatchKind::ALL.into_iter().find(|k| matches_as(f, q, *k))
}

/// Whether the best way `f` matches `q` is `kind` (checked first: most
/// candidates that fail, fail there).
pub(crate) fn is_best(f: &Facility, q: &Query, kind: MatchKind) -> bool {
    matches_as(f, q, kind)
        && MatchKind::ALL
            .into_iter()
            .take_while(|k| *k < kind)
            .all(|k| !matches_as(f, q, k))
}

/// Whether `f` matches `q` as `kind` (whether or not it also matches better).
fn matches_as(f: &Facility, q: &Query, kind: MatchKind) -> bool {
    let needle = q.stripped.as_str();
    match (q.kind, kind) {
        (_, MatchKind::Exact) => {
            let name = normalised(f.name());
            let en = || {
                q.kind == Kind::Latin
                    && f.name_en().and_then(|en| en_kind(en, &q.words)) == Some(MatchKind::Exact)
            };
            name.as_ref() == needle || name_equals_stripped(&name, needle) || en()
        }
        (Kind::Text, MatchKind::NamePrefix) => normalised(f.name()).starts_with(needle),
        (Kind::Text, MatchKind::NameSubstring) => normalised(f.name()).contains(needle),
        (Kind::Text, MatchKind::Field) => {
            let others = [
                f.city.as_deref(),
                f.district.as_deref(),
                f.operator.as_deref(),
            ];
            std::iter::once(f.address())
                .chain(others)
                .flatten()
                .any(|s| normalised(s).contains(needle))
        }
        (Kind::Text, MatchKind::Scattered) => {
            let fields: Vec<Cow<'_, str>> = [f.address(), f.city.as_deref(), f.district.as_deref()]
                .into_iter()
                .chain([f.operator.as_deref(), Some(f.name())])
                .flatten()
                .map(normalised)
                .collect();
            let fields: Vec<&str> = fields.iter().map(|c| c.as_ref()).collect();
            segmentable(q, &fields)
        }
        (Kind::Latin, MatchKind::NamePrefix | MatchKind::NameSubstring) => f
            .name_en()
            .and_then(|en| en_kind(en, &q.words))
            .is_some_and(|k| k <= kind),
        (Kind::Latin, MatchKind::Pinyin) => pinyin_matches(f.name(), q.letters.as_bytes()),
        (Kind::Latin, MatchKind::Field) => [f.city.as_deref(), f.district.as_deref()]
            .into_iter()
            .flatten()
            .any(|s| pinyin_matches(s, q.letters.as_bytes())),
        (Kind::Text, MatchKind::Pinyin) | (Kind::Latin, MatchKind::Scattered) => false,
    }
}

fn name_equals_stripped(name: &str, needle: &str) -> bool {
    name.contains(char::is_whitespace) && {
        let mut s = String::new();
        stripped_into(name, &mut s);
        s == needle
    }
}

/// Whether the query splits into pieces, each found in one of `fields`: pieces of
/// two characters or more, except that the last may be a single character (so a
/// query typed one character at a time keeps its matches), and a one-character
/// query is its own piece.
pub(crate) fn segmentable(q: &Query, fields: &[&str]) -> bool {
    let n = q.chars.len();
    if n == 0 || n > 127 {
        return false;
    }
    // Bit i: the first i characters split into pieces.
    let mut reach: u128 = 1;
    for i in 0..n {
        if reach & (1 << i) == 0 {
            continue;
        }
        // The longest piece from i found in one field (pieces of a found piece are found).
        let mut end = i;
        while end < n && fields.iter().any(|f| f.contains(q.piece(i, end + 1))) {
            end += 1;
        }
        for e in i + 2..=end {
            reach |= 1 << e;
        }
        if end == n && i + 1 == n {
            reach |= 1 << n;
        }
    }
    reach & (1 << n) != 0
}

/// How an English name matches the query's words: all of them, in order
/// ([`MatchKind::Exact`]); its first words, the last one cut short
/// ([`MatchKind::NamePrefix`]); each the start of one of its words
/// ([`MatchKind::NameSubstring`]).
pub(crate) fn en_kind(en: &str, qwords: &[String]) -> Option<MatchKind> {
    let last = qwords.last()?;
    let k = qwords.len();
    let mut name = words(en);
    let mut prefix = true;
    for (i, qw) in qwords.iter().enumerate() {
        let Some(w) = name.next() else {
            prefix = false;
            break;
        };
        let same = if i + 1 == k {
            word_starts_with(w, qw)
        } else {
            w.len() == qw.len() && word_starts_with(w, qw)
        };
        if !same {
            prefix = false;
            break;
        }
    }
    if prefix {
        let whole =
            name.next().is_none() && words(en).nth(k - 1).is_some_and(|w| w.len() == last.len());
        return Some(if whole {
            MatchKind::Exact
        } else {
            MatchKind::NamePrefix
        });
    }
    qwords
        .iter()
        .all(|qw| words(en).any(|w| word_starts_with(w, qw)))
        .then_some(MatchKind::NameSubstring)
}

/// Whether the latin `letters` match the pinyin of `text`.
pub(crate) fn pinyin_matches(text: &str, letters: &[u8]) -> bool {
    let mut buf = ['\0'; 64];
    let mut n = 0;
    for c in text.chars() {
        if n == buf.len() {
            let chars: Vec<char> = text.chars().map(norm_char).collect();
            return pinyin::matches(&chars, letters);
        }
        buf[n] = norm_char(c);
        n += 1;
    }
    pinyin::matches(&buf[..n], letters)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Query {
        Query::parse(s).expect("a query")
    }

    #[test]
    fn normalises_full_width_and_case() {
        assert_eq!(normalised("Ｌinyi１２号（3）"), "linyi12号（3）");
        assert!(matches!(normalised("临沂市（1号）"), Cow::Borrowed(_)));
        assert_eq!(q(" 兰山 驿站 ").stripped, "兰山驿站");
        assert_eq!(q("兰山 驿站").kind, Kind::Text);
        assert_eq!(q("12号").kind, Kind::Text);
        assert_eq!(q("12").kind, Kind::Text);
        let l = q("Lin yi");
        assert_eq!((l.kind, l.letters.as_str()), (Kind::Latin, "linyi"));
        assert_eq!(l.words, ["lin", "yi"]);
        let full_width = q("Ｌｉｎ ｙｉ");
        assert_eq!(full_width.kind, Kind::Latin);
        assert_eq!(full_width.words, ["lin", "yi"]);
        assert!(Query::parse("  ").is_none());
    }

    #[test]
    fn pieces_of_two_or_more_in_any_field() {
        let fields = ["临沂市第1号工会驿站", "兰山区"];
        let ok = |s: &str| segmentable(&q(s), &fields);
        assert!(ok("兰山驿站"));
        assert!(ok("临沂驿站"));
        assert!(ok("兰山区工会"));
        assert!(ok("兰山驿"), "the last piece may be one character");
        assert!(ok("驿"));
        assert!(!ok("兰驿站"), "a one-character piece only at the end");
        assert!(!ok("兰山北站"));
        assert!(!ok("上海"));
    }

    #[test]
    fn english_words() {
        let w = |s: &str| q(s).words;
        let en = "Linyi Union Rest Station No. 12";
        assert_eq!(
            en_kind(en, &w("linyi union rest station no 12")),
            Some(MatchKind::Exact)
        );
        assert_eq!(en_kind(en, &w("Linyi")), Some(MatchKind::NamePrefix));
        assert_eq!(en_kind(en, &w("linyi uni")), Some(MatchKind::NamePrefix));
        assert_eq!(en_kind(en, &w("lin")), Some(MatchKind::NamePrefix));
        assert_eq!(
            en_kind(en, &w("station 12")),
            Some(MatchKind::NameSubstring)
        );
        assert_eq!(
            en_kind(en, &w("rest linyi")),
            Some(MatchKind::NameSubstring)
        );
        assert_eq!(en_kind(en, &w("ation")), None);
        assert_eq!(en_kind(en, &w("linyi driver")), None);
        assert_eq!(en_kind("Linyi", &w("linyi")), Some(MatchKind::Exact));
        assert_eq!(en_kind("Linyi", &w("liny")), Some(MatchKind::NamePrefix));
    }
}
