//! Base64url without padding (RFC 7515 section 2), strict on decode.
//!
//! The decoder rejects padding, characters outside the URL-safe alphabet, and encodings whose
//! unused trailing bits are not zero: every byte string has exactly one accepted encoding, so a
//! signature or a digest cannot be made to verify under a second spelling.
//!
//! The hot paths (issuing, presenting, verifying) encode and decode with `base64-simd`; the tests
//! hold it to the `base64` crate as the reference. [`encode_into`] stays a plain loop writing
//! straight into its `String`, with no intermediate buffer, because it encodes private keys.

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
/// output as bytes and make it a `String` once at the end: this is the encoder of the hot paths
/// (`base64-simd`'s).
pub fn encode_to_vec(bytes: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + (bytes.len() * 4).div_ceil(3), 0);
    encode_to_slice(bytes, &mut out[start..]);
}

/// Encodes `bytes` into `dst`, which must be exactly `(bytes.len() * 4).div_ceil(3)` long: the
/// first that many bytes of a longer `dst` are written, a shorter `dst` is left as it is.
pub(crate) fn encode_to_slice(bytes: &[u8], dst: &mut [u8]) {
    let encoder = base64_simd::URL_SAFE_NO_PAD;
    debug_assert!(dst.len() >= encoder.encoded_length(bytes.len()));
    if let Some(dst) = dst.get_mut(..encoder.encoded_length(bytes.len())) {
        let _written = encoder.encode(bytes, base64_simd::Out::from_slice(dst));
    }
}

/// A `String` from bytes this module wrote (always ASCII).
pub(crate) fn ascii_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_default()
}

/// Decodes canonical base64url without padding.
pub fn decode(text: impl AsRef<[u8]>) -> Result<Vec<u8>, JoseError> {
    base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(text)
        .map_err(|_| JoseError::Base64)
}

/// Decodes canonical base64url into `out` (which must hold at least `text.len() * 3 / 4` bytes),
/// returning the number of bytes written.
pub fn decode_into(text: impl AsRef<[u8]>, out: &mut [u8]) -> Result<usize, JoseError> {
    let text = text.as_ref();
    let decoder = base64_simd::URL_SAFE_NO_PAD;
    let length = decoder
        .decoded_length(text)
        .map_err(|_| JoseError::Base64)?;
    let out = out.get_mut(..length).ok_or(JoseError::Base64)?;
    decoder
        .decode(text, base64_simd::Out::from_slice(out))
        .map(|decoded| decoded.len())
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
    if decode_into(text, &mut out)? != N {
        return Err(JoseError::Base64);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use proptest::prelude::*;

    use super::*;

    /// Text that is mostly base64url, with the characters strict decoders must refuse mixed in.
    fn near_base64() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                20 => proptest::sample::select(ALPHABET.to_vec()),
                1 => proptest::sample::select(b"=+/ .\n~\x00\x7f".to_vec()),
            ],
            0..300,
        )
        .prop_map(|bytes| bytes.into_iter().map(char::from).collect())
    }

    proptest! {
        #[test]
        fn decoders_agree_with_the_base64_crate(text in near_base64()) {
            let reference = URL_SAFE_NO_PAD.decode(&text).ok();
            prop_assert_eq!(decode(&text).ok(), reference.clone());
            let mut out = [0u8; 300];
            let into = decode_into(&text, &mut out).ok().map(|n| out[..n].to_vec());
            prop_assert_eq!(into, reference.clone());
            let on_stack = with_decoded(&text, <[u8]>::to_vec).ok();
            prop_assert_eq!(on_stack, reference);
        }

        #[test]
        fn every_byte_string_has_one_spelling(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let text = encode(&bytes);
            prop_assert_eq!(decode(&text).ok(), Some(bytes));
            // Flipping a trailing bit that carries no data must be refused.
            if text.len() % 4 != 0 {
                let mut bent = text.into_bytes();
                let last = bent.len() - 1;
                let index = ALPHABET.iter().position(|c| *c == bent[last]).unwrap_or(0);
                bent[last] = ALPHABET[index ^ 1];
                prop_assert!(decode(&bent).is_err());
            }
        }
    }

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
    fn an_output_too_small_is_an_error() {
        let mut out = [0u8; 2];
        assert_eq!(decode_into("QUJD", &mut out), Err(JoseError::Base64));
        assert_eq!(decode_into("QUI", &mut out), Ok(2));
        assert_eq!(&out, b"AB");
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
