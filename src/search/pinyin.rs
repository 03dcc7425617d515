//! Latin letters against Chinese text: full pinyin (`linyi` → 临沂) and initials
//! (`ly` → 临沂).
//!
//! Every reading of a character counts (多音字: 重庆 is `chongqing` though 重 is
//! most often `zhong`; 长沙 is `changsha`), toneless, with ü typed as `v` (`lv`
//! for 绿). ASCII letters and digits in the text read as themselves, so `jd`
//! finds "京东JD驿站" too; any other character (punctuation, a space) reads as
//! nothing and ends a run.
//!
//! A query matches text if it can start at some character and either
//! - **full**: spells the readings of the characters from there one after the
//!   other, the last one possibly cut short (`liny`, `linyishi`, `yishi` all match
//!   临沂市), or
//! - **initials**: its letters are the first letters of as many characters in a
//!   row (`ly`, `lys`).

use std::borrow::Cow;
use std::sync::OnceLock;

use pinyin::ToPinyinMulti;

/// Calls `f` with each reading of `c` (lower-case ASCII) until it returns `true`;
/// whether one did.
pub(crate) fn any_reading(c: char, mut f: impl FnMut(&[u8]) -> bool) -> bool {
    if c.is_ascii_alphanumeric() {
        let b = c.to_ascii_lowercase() as u8;
        return f(std::slice::from_ref(&b));
    }
    let Some(multi) = c.to_pinyin_multi() else {
        return false;
    };
    multi.into_iter().any(|p| f(typed(p.plain()).as_bytes()))
}

/// A toneless reading as it is typed: ü as `v`.
fn typed(plain: &'static str) -> Cow<'static, str> {
    match plain {
        "lü" => Cow::Borrowed("lv"),
        "nü" => Cow::Borrowed("nv"),
        "lüe" => Cow::Borrowed("lve"),
        "nüe" => Cow::Borrowed("nve"),
        other if other.contains('ü') => Cow::Owned(other.replace('ü', "v")),
        other => Cow::Borrowed(other),
    }
}

/// How a query in full pinyin goes on after one character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// The query is used up: it matches here whatever follows.
    Done,
    /// The query goes on from this byte.
    Full(usize),
}

/// The ways the query `q`, at `from`, can go on through the character `c`: each
/// is given to `out`, which returns `true` to stop; whether one did.
pub(crate) fn steps(c: char, q: &[u8], from: Step, mut out: impl FnMut(Step) -> bool) -> bool {
    match from {
        Step::Done => out(Step::Done),
        Step::Full(at) => {
            let rest = &q[at.min(q.len())..];
            any_reading(c, |r| {
                if rest.starts_with(r) {
                    let next = at + r.len();
                    out(if next >= q.len() {
                        Step::Done
                    } else {
                        Step::Full(next)
                    })
                } else if r.starts_with(rest) {
                    out(Step::Done)
                } else {
                    false
                }
            })
        }
    }
}

/// Whether `q` (lower-case ASCII letters and digits) matches `chars` from some
/// character on, in full pinyin or in initials.
pub(crate) fn matches(chars: &[char], q: &[u8]) -> bool {
    let Some(&q0) = q.first() else {
        return false;
    };
    // Initials need only each character's first letters; full pinyin is tried only
    // where the first letter fits.
    let mut masks_buf = [0u64; 64];
    let owned: Vec<u64>;
    let masks: &[u64] = if chars.len() <= 64 {
        for (m, c) in masks_buf.iter_mut().zip(chars) {
            *m = first_letters(*c);
        }
        &masks_buf[..chars.len()]
    } else {
        owned = chars.iter().map(|c| first_letters(*c)).collect();
        &owned
    };
    let bit0 = letter_bit(q0);
    (0..chars.len()).any(|start| {
        masks[start] & bit0 != 0
            && (initials_at(&masks[start..], q) || go(&chars[start..], q, Step::Full(0)))
    })
}

/// Whether `q` matches `chars` from the character `start` on.
pub(crate) fn matches_at(chars: &[char], start: usize, q: &[u8]) -> bool {
    let chars = &chars[start.min(chars.len())..];
    let masks: Vec<u64> = chars
        .iter()
        .take(q.len())
        .map(|c| first_letters(*c))
        .collect();
    initials_at(&masks, q) || go(chars, q, Step::Full(0))
}

/// Whether the letters of `q` begin the characters whose first letters are `masks`,
/// one each.
fn initials_at(masks: &[u64], q: &[u8]) -> bool {
    q.len() <= masks.len() && q.iter().zip(masks).all(|(b, m)| m & letter_bit(*b) != 0)
}

fn go(chars: &[char], q: &[u8], from: Step) -> bool {
    if from == Step::Done {
        return true;
    }
    let Some((&c, rest)) = chars.split_first() else {
        return false;
    };
    steps(c, q, from, |next| go(rest, q, next))
}

/// The CJK characters whose first letters are kept in a table (Extension A and
/// the Unified Ideographs).
const TABLED: std::ops::RangeInclusive<u32> = 0x3400..=0x9FFF;

/// The first letters (and digits) `c` can begin with, as bits: `a`–`z` are bits
/// 0–25, `0`–`9` bits 26–35.
pub(crate) fn first_letters(c: char) -> u64 {
    static TABLE: OnceLock<Vec<u64>> = OnceLock::new();
    let code = c as u32;
    if TABLED.contains(&code) {
        let table = TABLE.get_or_init(|| {
            TABLED
                .map(|code| char::from_u32(code).map_or(0, first_letters_uncached))
                .collect()
        });
        if let Some(bits) = table.get((code - TABLED.start()) as usize) {
            return *bits;
        }
    }
    first_letters_uncached(c)
}

fn first_letters_uncached(c: char) -> u64 {
    let mut bits = 0u64;
    any_reading(c, |r| {
        if let Some(&b) = r.first() {
            bits |= letter_bit(b);
        }
        false
    });
    bits
}

/// The bit of an ASCII letter or digit in [`first_letters`] (0 for anything else).
pub(crate) fn letter_bit(b: u8) -> u64 {
    match b {
        b'a'..=b'z' => 1 << (b - b'a'),
        b'0'..=b'9' => 1 << (26 + b - b'0'),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(text: &str, q: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        matches(&chars, q.as_bytes())
    }

    #[test]
    fn full_pinyin_from_any_character_last_syllable_cut_short() {
        for q in [
            "linyi", "liny", "lin", "l", "linyishi", "yishi", "yi", "shi",
        ] {
            assert!(m("临沂市", q), "{q}");
        }
        for q in ["linyishidi", "lini", "inyi", "linyo", "x"] {
            assert!(!m("临沂市", q), "{q}");
        }
    }

    #[test]
    fn initials_and_mixed_readings() {
        assert!(m("临沂市", "ly"));
        assert!(m("临沂市", "lys"));
        assert!(m("临沂市", "ys"));
        assert!(!m("临沂市", "lyx"));
        // Heteronyms: every reading counts.
        assert!(m("重庆", "chongqing") && m("重庆", "zhongqing") && m("重庆", "cq"));
        assert!(m("长沙", "changsha") && m("厦门", "xiamen"));
        // ü is typed as v.
        assert!(m("绿道驿站", "lvdao"));
        // Latin letters and digits read as themselves; punctuation ends a run.
        assert!(m("京东JD驿站", "jdyz") && m("京东JD驿站", "jingdongjd"));
        assert!(m("第12号", "di12"));
        assert!(!m("临沂（1号）", "linyi1"));
    }

    #[test]
    fn first_letters_of_heteronyms() {
        let bits = first_letters('重');
        assert_ne!(bits & letter_bit(b'z'), 0);
        assert_ne!(bits & letter_bit(b'c'), 0);
        assert_eq!(bits & letter_bit(b'x'), 0);
        assert_eq!(first_letters('7'), letter_bit(b'7'));
        assert_eq!(first_letters('（'), 0);
    }
}
