//! Base64url without padding (RFC 7515 section 2), strict on decode.
//!
//! The decoder rejects padding, characters outside the URL-safe alphabet, and encodings whose
//! unused trailing bits are not zero: every byte string has exactly one accepted encoding, so a
//! signature or a digest cannot be made to verify under a second spelling.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::JoseError;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encodes `bytes` as base64url without padding.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    let mut out = Vec::new();
    encode_to_vec(bytes.as_ref(), &mut out);
    ascii_string(out)
}

/// Appends the base64url encoding of `bytes` to `out` character by character, with no
/// intermediate buffer (it encodes private key material too).
pub fn encode_into(bytes: impl AsRef<[u8]>, out: &mut String) {
    let bytes = bytes.as_ref();
    out.reserve((bytes.len() * 4).div_ceil(3));
    let sextet = |n: u32, shift: u32| char::from(ALPHABET[(n >> shift) as usize & 63]);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i as u32));
        for shift in [18, 12, 6, 0].into_iter().take(chunk.len() + 1) {
            out.push(sextet(n, shift));
        }
    }
}

/// Appends the base64url encoding of `bytes` to a byte buffer. Issuing and signing assemble their
/// output as bytes and make it a `String` once at the end: this is the encoder of the hot paths,
/// a plain three-bytes-to-four-characters loop (encoding needs no strictness; decoding does and
/// stays with the `base64` crate).
pub fn encode_to_vec(bytes: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + (bytes.len() * 4).div_ceil(3), 0);
    encode_to_slice(bytes, &mut out[start..]);
}

/// Encodes `bytes` into `dst`, which must be exactly `(bytes.len() * 4).div_ceil(3)` long
/// (a shorter or longer `dst` leaves the excess unwritten or the input partly encoded).
pub(crate) fn encode_to_slice(bytes: &[u8], dst: &mut [u8]) {
    let full = bytes.len() / 3;
    for (chunk, d) in bytes.chunks_exact(3).zip(dst.chunks_exact_mut(4)) {
        let n = u32::from(chunk[0]) << 16 | u32::from(chunk[1]) << 8 | u32::from(chunk[2]);
        d[0] = ALPHABET[(n >> 18) as usize & 63];
        d[1] = ALPHABET[(n >> 12) as usize & 63];
        d[2] = ALPHABET[(n >> 6) as usize & 63];
        d[3] = ALPHABET[n as usize & 63];
    }
    let Some(tail) = dst.get_mut(full * 4..) else {
        return;
    };
    match (bytes.len() % 3, tail) {
        (1, [a, b]) => {
            let n = u32::from(bytes[full * 3]) << 16;
            *a = ALPHABET[(n >> 18) as usize & 63];
            *b = ALPHABET[(n >> 12) as usize & 63];
        }
        (2, [a, b, c]) => {
            let n = u32::from(bytes[full * 3]) << 16 | u32::from(bytes[full * 3 + 1]) << 8;
            *a = ALPHABET[(n >> 18) as usize & 63];
            *b = ALPHABET[(n >> 12) as usize & 63];
            *c = ALPHABET[(n >> 6) as usize & 63];
        }
        _ => {}
    }
}

/// A `String` from bytes this module wrote (always ASCII).
pub(crate) fn ascii_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_default()
}

/// Decodes canonical base64url without padding.
pub fn decode(text: impl AsRef<[u8]>) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| JoseError::Base64)
}

/// Decodes canonical base64url into `out` (which must hold at least `text.len() * 3 / 4` bytes),
/// returning the number of bytes written.
pub fn decode_into(text: impl AsRef<[u8]>, out: &mut [u8]) -> Result<usize, JoseError> {
    URL_SAFE_NO_PAD
        .decode_slice(text, out)
        .map_err(|_| JoseError::Base64)
}

/// Decodes canonical base64url and hands the bytes to `use_bytes`: on the stack when they are
/// small (JWS headers, disclosures), from the heap otherwise.
pub(crate) fn with_decoded<R>(
    text: &str,
    use_bytes: impl FnOnce(&[u8]) -> R,
) -> Result<R, JoseError> {
    // Sized for disclosures and JWS headers without certificates (larger inputs go to the heap);
    // the buffer is zeroed on every call, so it is kept small.
    let mut stack = [0u8; 384];
    if text.len() / 4 * 3 + 3 <= stack.len() {
        let n = decode_into(text, &mut stack)?;
        Ok(use_bytes(&stack[..n]))
    } else {
        Ok(use_bytes(&decode(text)?))
    }
}

/// Decodes canonical base64url into a fixed-size array; any other length is an error.
pub fn decode_array<const N: usize>(text: &str) -> Result<[u8; N], JoseError> {
    // A canonical unpadded encoding of N bytes has exactly this many characters.
    if text.len() != (N * 4).div_ceil(3) {
        return Err(JoseError::Base64);
    }
    let mut out = [0u8; N];
    let written = URL_SAFE_NO_PAD
        .decode_slice(text, &mut out)
        .map_err(|_| JoseError::Base64)?;
    if written != N {
        return Err(JoseError::Base64);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for len in 0..70 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(decode(encode(&bytes)).unwrap(), bytes);
        }
    }

    #[test]
    fn rejects_non_canonical_and_padding() {
        // "QQ" is the canonical encoding of "A"; "QR" differs only in trailing bits.
        assert_eq!(decode("QQ").unwrap(), b"A");
        assert!(decode("QR").is_err());
        assert!(decode("QQ==").is_err());
        assert!(decode("Q+==").is_err());
        assert!(decode("ab/c").is_err());
        assert!(decode("a").is_err());
        assert!(decode("ab c").is_err());
    }

    #[test]
    fn own_encoders_match_the_base64_crate() {
        for len in 0..200 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 151 + 7) as u8).collect();
            let expected = URL_SAFE_NO_PAD.encode(&bytes);
            let mut ours = Vec::new();
            encode_to_vec(&bytes, &mut ours);
            assert_eq!(ours, expected.as_bytes(), "{len}");
            let mut text = String::from("prefix:");
            encode_into(&bytes, &mut text);
            assert_eq!(text, format!("prefix:{expected}"), "{len}");
        }
    }

    #[test]
    fn fixed_arrays() {
        let bytes = [7u8; 32];
        let text = encode(bytes);
        assert_eq!(decode_array::<32>(&text).unwrap(), bytes);
        assert!(decode_array::<31>(&text).is_err());
        assert!(decode_array::<33>(&text).is_err());
    }
}
