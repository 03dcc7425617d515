//! A few JSON writing primitives for the hot path: facility features, which every
//! nearest answer and every facility layer is made of.
//!
//! Why not serde for those: a serializer checks every key and every string for
//! characters to escape, one call at a time (about 80 instructions for a short key
//! with sonic-rs, a loop per byte with serde_json), and a nearest answer has 150
//! keys and 100 strings. Here keys are constant text written as it is, and strings
//! are checked thirty-two bytes at a time. The output is byte for byte what serde_json
//! writes (the tests compare them).

/// Appends `s` as a JSON string: quoted, with `"`, `\` and control characters
/// escaped the way serde_json escapes them.
pub fn str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Bytes before `start` are written; blocks with nothing to escape are only
    // tested (vector compares), the rest goes byte by byte.
    let mut start = 0;
    let mut at = 0;
    let mut bytewise = |out: &mut Vec<u8>, from: usize, part: &[u8]| {
        for (i, &b) in part.iter().enumerate() {
            if needs_escape(b) {
                out.extend_from_slice(&bytes[start..from + i]);
                escape(out, b);
                start = from + i + 1;
            }
        }
    };
    let (blocks, rest) = bytes.as_chunks::<BLOCK>();
    for block in blocks {
        if any_to_escape(block) {
            bytewise(out, at, block);
        }
        at += BLOCK;
    }
    // The tail, tested as a block padded with spaces (which need no escape).
    let mut tail = [b' '; BLOCK];
    tail[..rest.len()].copy_from_slice(rest);
    if any_to_escape(&tail) {
        bytewise(out, at, rest);
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[inline(always)]
fn any_to_escape(block: &[u8; BLOCK]) -> bool {
    block.iter().fold(false, |any, &b| any | needs_escape(b))
}

/// Bytes tested at once (two SSE2 vectors).
const BLOCK: usize = 32;

#[inline(always)]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

fn escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 0xf)],
        ]),
    }
}

/// Appends a string, or `null`.
pub fn opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// Appends an unsigned integer.
pub fn u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends a number as serde_json does: the shortest text that reads back the same,
/// `null` when it is not finite.
pub fn f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        out.extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// Appends `true` or `false`.
pub fn bool(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

/// Appends a boolean, or `null`.
pub fn opt_bool(out: &mut Vec<u8>, v: Option<bool>) {
    match v {
        Some(v) => bool(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn written(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        f(&mut out);
        out
    }

    #[test]
    fn awkward_strings_as_serde_json_writes_them() {
        for s in [
            "",
            "plain",
            "引号\"反斜杠\\换行\n制表\t\u{1}\u{8}\u{c}\r\u{1f}\u{7f}🚚 end",
            "\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"",
            "0123456789abcdef\n0123456789abcdef",
        ] {
            assert_eq!(
                written(|o| str(o, s)),
                serde_json::to_vec(s).unwrap(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn numbers_and_literals_as_serde_json_writes_them() {
        for v in [
            0.0,
            -0.0,
            3.0,
            0.1,
            116.400388,
            1e21,
            1e-7,
            f64::NAN,
            f64::INFINITY,
        ] {
            assert_eq!(
                written(|o| f64(o, v)),
                serde_json::to_vec(&v).unwrap(),
                "{v}"
            );
        }
        for v in [0, 7, u64::MAX] {
            assert_eq!(written(|o| u64(o, v)), serde_json::to_vec(&v).unwrap());
        }
        for v in [None, Some(true), Some(false)] {
            assert_eq!(written(|o| opt_bool(o, v)), serde_json::to_vec(&v).unwrap());
        }
        assert_eq!(written(|o| opt_str(o, None)), b"null");
    }

    proptest! {
        #[test]
        fn any_string_as_serde_json_writes_it(s in any::<String>(), t in "[\\x00-\\x7f]{0,80}") {
            prop_assert_eq!(written(|o| str(o, &s)), serde_json::to_vec(&s).unwrap());
            prop_assert_eq!(written(|o| str(o, &t)), serde_json::to_vec(&t).unwrap());
        }
    }
}
