//! A presentation in one QR code, for proximity without a network (phone to phone).
//!
//! An SD-JWT presentation with the issuer's `x5c` chain is too long for a QR code as text. The
//! compact form packs it: each base64url segment (between `.` and `~`) is decoded to its bytes
//! (base64url costs a third), the whole is DEFLATE-compressed, and the result is written in
//! Base45 (RFC 9285), whose alphabet is exactly the QR alphanumeric set (5.5 bits per character
//! in a QR code, against 8 in byte mode):
//!
//! ```text
//! DD1:<base45(deflate(segments))>
//! segment = kind (0: bytes of a base64url segment, 1: text as is) || length (LEB128) || data
//!           || separator ('.', '~', or 0 after the last)
//! ```
//!
//! Decoding restores the presentation byte for byte (the strict base64url decoder accepts only
//! canonical encodings, so re-encoding is exact), and refuses more than [`MAX_DECODED`] bytes.

use std::io::{Read, Write};

use super::Oid4vpError;
use crate::jose::b64;

/// The prefix of the compact form (its version).
pub const PREFIX: &str = "DD1:";
/// The largest presentation a compact form may expand to.
pub const MAX_DECODED: usize = 64 * 1024;

const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// The compact form of a presentation (or any SD-JWT text).
pub fn encode(presentation: &str) -> Result<String, Oid4vpError> {
    let mut packed = Vec::with_capacity(presentation.len());
    let mut rest = presentation;
    loop {
        let end = rest.find(['.', '~']).unwrap_or(rest.len());
        let segment = &rest[..end];
        match b64::decode(segment) {
            Ok(bytes) if !segment.is_empty() => push_segment(&mut packed, 0, &bytes),
            _ => push_segment(&mut packed, 1, segment.as_bytes()),
        }
        match rest.as_bytes().get(end) {
            Some(&separator) => {
                packed.push(separator);
                rest = &rest[end + 1..];
            }
            None => {
                packed.push(0);
                break;
            }
        }
    }
    let mut deflater = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    deflater
        .write_all(&packed)
        .map_err(|e| Oid4vpError::InvalidRequest(e.to_string()))?;
    let compressed = deflater
        .finish()
        .map_err(|e| Oid4vpError::InvalidRequest(e.to_string()))?;
    Ok(format!("{PREFIX}{}", base45_encode(&compressed)))
}

/// The presentation a compact form carries.
pub fn decode(text: &str) -> Result<String, Oid4vpError> {
    let bad = |why: &str| Oid4vpError::InvalidResponse(format!("QR presentation: {why}"));
    let body = text
        .strip_prefix(PREFIX)
        .ok_or_else(|| bad("unknown prefix"))?;
    let compressed = base45_decode(body).ok_or_else(|| bad("not Base45"))?;
    let mut packed = Vec::new();
    flate2::read::DeflateDecoder::new(compressed.as_slice())
        .take(MAX_DECODED as u64 + 1)
        .read_to_end(&mut packed)
        .map_err(|_| bad("not DEFLATE"))?;
    if packed.len() > MAX_DECODED {
        return Err(bad("too large"));
    }
    let mut out = String::with_capacity(packed.len() * 4 / 3);
    let mut rest = packed.as_slice();
    loop {
        let (&kind, after) = rest.split_first().ok_or_else(|| bad("truncated"))?;
        let (len, after) = read_leb128(after).ok_or_else(|| bad("bad length"))?;
        if after.len() < len {
            return Err(bad("truncated"));
        }
        let (data, after) = after.split_at(len);
        match kind {
            0 if !data.is_empty() => b64::encode_into(data, &mut out),
            1 => out.push_str(std::str::from_utf8(data).map_err(|_| bad("not UTF-8"))?),
            _ => return Err(bad("unknown segment kind")),
        }
        if out.len() > MAX_DECODED {
            return Err(bad("too large"));
        }
        let (&separator, after) = after.split_first().ok_or_else(|| bad("truncated"))?;
        match separator {
            0 if after.is_empty() => return Ok(out),
            b'.' | b'~' => out.push(char::from(separator)),
            _ => return Err(bad("bad separator")),
        }
        rest = after;
    }
}

fn push_segment(out: &mut Vec<u8>, kind: u8, data: &[u8]) {
    out.push(kind);
    let mut len = data.len();
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(data);
}

fn read_leb128(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let mut value = 0usize;
    for (i, &byte) in bytes.iter().enumerate().take(3) {
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

/// Base45 (RFC 9285).
pub fn base45_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(2) * 3);
    for chunk in bytes.chunks(2) {
        let (mut n, digits) = match chunk {
            [a, b] => (usize::from(*a) * 256 + usize::from(*b), 3),
            [a] => (usize::from(*a), 2),
            _ => continue,
        };
        for _ in 0..digits {
            out.push(char::from(ALPHABET[n % 45]));
            n /= 45;
        }
    }
    out
}

/// Base45 decoding, strict: characters outside the alphabet, a dangling character, and groups
/// whose value exceeds their byte count are refused.
pub fn base45_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| ALPHABET.iter().position(|&a| a == c);
    let mut out = Vec::with_capacity(text.len() / 3 * 2 + 1);
    for chunk in text.as_bytes().chunks(3) {
        let digits: Vec<usize> = chunk.iter().map(|&c| value(c)).collect::<Option<_>>()?;
        match digits.as_slice() {
            [c, d, e] => {
                let n = c + d * 45 + e * 45 * 45;
                let n = u16::try_from(n).ok()?;
                out.extend_from_slice(&n.to_be_bytes());
            }
            [c, d] => out.push(u8::try_from(c + d * 45).ok()?),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base45_follows_rfc_9285() {
        // RFC 9285 section 4.3's examples.
        assert_eq!(base45_encode(b"AB"), "BB8");
        assert_eq!(base45_encode(b"Hello!!"), "%69 VD92EX0");
        assert_eq!(base45_encode(b"base-45"), "UJCLQE7W581");
        assert_eq!(base45_decode("QED8WEX0").unwrap(), b"ietf!");
        assert_eq!(base45_decode("GGW"), None); // 65536 + ...: more than two bytes
        assert_eq!(base45_decode("A"), None);
        assert_eq!(base45_decode("ab"), None);
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(base45_decode(&base45_encode(&bytes)).unwrap(), bytes);
        }
    }

    #[test]
    fn presentations_round_trip_exactly() {
        for text in [
            "eyJhbGciOiJFUzI1NiJ9.eyJhIjoxfQ.c2ln~WyJzIiwibiIsInYiXQ~",
            "eyJhbGciOiJFUzI1NiJ9.eyJhIjoxfQ.c2ln~WyJzIiwibiIsInYiXQ~eyJ0eXAiOiJrYitqd3QifQ.e30.c2ln",
            "not base64 at all! ~ with spaces.",
            "",
            "~~..~",
        ] {
            let compact = encode(text).unwrap();
            assert!(compact.starts_with(PREFIX));
            assert!(
                compact
                    .bytes()
                    .all(|b| ALPHABET.contains(&b) || PREFIX.as_bytes().contains(&b))
            );
            assert_eq!(decode(&compact).unwrap(), text);
        }
    }

    #[test]
    fn hostile_compact_forms_are_refused() {
        assert!(decode("DD2:000").is_err());
        assert!(decode("DD1:a").is_err());
        assert!(decode("DD1:").is_err());
        // A DEFLATE bomb: a megabyte of zeros compresses to a few hundred bytes.
        let mut deflater =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        deflater.write_all(&vec![0u8; 1 << 20]).unwrap();
        let bomb = format!("{PREFIX}{}", base45_encode(&deflater.finish().unwrap()));
        assert!(decode(&bomb).is_err());
        // Packed bytes with a bad kind or separator.
        for packed in [
            &[2u8, 0, 0][..],
            &[1, 0, b'x'],
            &[1, 5, b'a'],
            &[1, 0, 0, 1],
        ] {
            let mut deflater =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
            deflater.write_all(packed).unwrap();
            let text = format!("{PREFIX}{}", base45_encode(&deflater.finish().unwrap()));
            assert!(decode(&text).is_err(), "{packed:?}");
        }
    }
}
