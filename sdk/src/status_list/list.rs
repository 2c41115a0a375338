//! The packed status list and its `lst` encoding (draft section 4.1).

use std::{
    fmt,
    io::{Read, Write},
};

use flate2::{Compression, read::ZlibDecoder, write::ZlibEncoder};

use super::{MAX_LIST_BYTES, StatusListError};
use crate::jose::b64;

/// The status of one referenced token: a Status Type of the draft's registry.
///
/// Values 0x03 and 0x0B to 0x0F are reserved for applications; every other value above 0x02 is
/// reserved for future registration and read as [`Status::Reserved`]. The enum is
/// `non_exhaustive` because a future registration would give one of those a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// 0x00: the token is valid.
    Valid,
    /// 0x01: the token is revoked, permanently.
    Invalid,
    /// 0x02: the token is suspended, until the issuer says otherwise.
    Suspended,
    /// 0x03 or 0x0B to 0x0F: a meaning agreed out of band; the raw value.
    ApplicationSpecific(u8),
    /// Any other value: reserved for future registration; the raw value.
    Reserved(u8),
}

impl Status {
    /// The raw value as it appears in the list.
    pub fn as_u8(self) -> u8 {
        match self {
            Self::Valid => 0x00,
            Self::Invalid => 0x01,
            Self::Suspended => 0x02,
            Self::ApplicationSpecific(value) | Self::Reserved(value) => value,
        }
    }

    /// A lower-case name: `valid`, `invalid`, `suspended`, `application_specific` or
    /// `reserved`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::Suspended => "suspended",
            Self::ApplicationSpecific(_) => "application_specific",
            Self::Reserved(_) => "reserved",
        }
    }

    /// Whether the status is [`Status::Valid`]; every other status means "do not accept" unless
    /// the application knows better.
    pub fn is_valid(self) -> bool {
        self == Self::Valid
    }
}

impl From<u8> for Status {
    fn from(value: u8) -> Self {
        match value {
            0x00 => Self::Valid,
            0x01 => Self::Invalid,
            0x02 => Self::Suspended,
            0x03 | 0x0B..=0x0F => Self::ApplicationSpecific(value),
            _ => Self::Reserved(value),
        }
    }
}

impl From<Status> for u8 {
    fn from(status: Status) -> Self {
        status.as_u8()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ApplicationSpecific(value) | Self::Reserved(value) => {
                write!(f, "{} (0x{value:02x})", self.as_str())
            }
            _ => f.write_str(self.as_str()),
        }
    }
}

/// A list of statuses of `bits` bits each (1, 2, 4 or 8), packed into bytes.
///
/// Entry `i` lives in byte `i * bits / 8`, at bit offset `(i * bits) % 8` counted from the
/// least significant bit: entry 0 is in the lowest bits of byte 0 (draft section 4.1).
///
/// The encoded form carries no entry count, so a list decoded from `lst` has as many entries as
/// its bytes can hold (`bytes * 8 / bits`); padding entries read as [`Status::Valid`].
#[derive(Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: u8,
    len: usize,
    bytes: Vec<u8>,
}

impl StatusList {
    /// A list of `len` entries of `bits` bits, all [`Status::Valid`].
    ///
    /// Refuses `bits` other than 1, 2, 4 or 8, and lists over [`MAX_LIST_BYTES`]: no verifier
    /// would accept them.
    pub fn new(bits: u8, len: usize) -> Result<Self, StatusListError> {
        check_bits(u64::from(bits))?;
        let too_large = StatusListError::TooLarge {
            limit: MAX_LIST_BYTES,
        };
        let byte_len = len
            .checked_mul(usize::from(bits))
            .ok_or(too_large.clone())?
            .div_ceil(8);
        if byte_len > MAX_LIST_BYTES {
            return Err(too_large);
        }
        Ok(Self {
            bits,
            len,
            bytes: vec![0; byte_len],
        })
    }

    /// A list holding `statuses`, in order. Every value must fit in `bits`.
    pub fn from_statuses(bits: u8, statuses: &[u8]) -> Result<Self, StatusListError> {
        let mut list = Self::new(bits, statuses.len())?;
        for (idx, &value) in statuses.iter().enumerate() {
            list.set(idx, value)?;
        }
        Ok(list)
    }

    /// A list over already packed bytes (as [`StatusList::as_bytes`] returns them, e.g. from an
    /// issuer's store). Its length is `bytes.len() * 8 / bits`.
    pub fn from_bytes(bits: u8, bytes: Vec<u8>) -> Result<Self, StatusListError> {
        check_bits(u64::from(bits))?;
        if bytes.len() > MAX_LIST_BYTES {
            return Err(StatusListError::TooLarge {
                limit: MAX_LIST_BYTES,
            });
        }
        Ok(Self::from_packed(bits, bytes))
    }

    /// `bits` must already be checked.
    fn from_packed(bits: u8, bytes: Vec<u8>) -> Self {
        let per_byte = usize::from(8 / bits);
        Self {
            bits,
            len: bytes.len().saturating_mul(per_byte),
            bytes,
        }
    }

    /// Bits per status: 1, 2, 4 or 8.
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The packed bytes (unused high bits of the last byte are zero).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Byte position, bit shift and value mask of entry `idx`; an error if it is out of range.
    fn locate(&self, idx: usize) -> Result<(usize, u32, u8), StatusListError> {
        if idx >= self.len {
            return Err(StatusListError::IndexOutOfRange {
                idx: idx as u64,
                len: self.len as u64,
            });
        }
        // bits is a power of two, so division and remainder are shifts and masks.
        let log_bits = self.bits.trailing_zeros();
        let log_per_byte = 3 - log_bits;
        let byte = idx >> log_per_byte;
        let shift = ((idx & ((1 << log_per_byte) - 1)) as u32) << log_bits;
        let mask = u8::MAX >> (8 - u32::from(self.bits));
        Ok((byte, shift, mask))
    }

    /// The raw value of entry `idx`.
    pub fn get(&self, idx: usize) -> Result<u8, StatusListError> {
        let (byte, shift, mask) = self.locate(idx)?;
        let packed = self.bytes.get(byte).copied().unwrap_or(0);
        Ok((packed >> shift) & mask)
    }

    /// The status of entry `idx`.
    pub fn status(&self, idx: usize) -> Result<Status, StatusListError> {
        self.get(idx).map(Status::from)
    }

    /// Sets entry `idx` to `value`, which must fit in the list's bits.
    pub fn set(&mut self, idx: usize, value: u8) -> Result<(), StatusListError> {
        let (byte, shift, mask) = self.locate(idx)?;
        if value & !mask != 0 {
            return Err(StatusListError::ValueTooLarge {
                value,
                bits: self.bits,
            });
        }
        if let Some(packed) = self.bytes.get_mut(byte) {
            *packed = (*packed & !(mask << shift)) | (value << shift);
        }
        Ok(())
    }

    /// The raw values of all entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        (0..self.len).map(move |idx| self.get(idx).unwrap_or(0))
    }

    /// The `lst` value: the bytes ZLIB-compressed (RFC 1950) at the best compression level, then
    /// base64url without padding.
    pub fn encode_lst(&self) -> Result<String, StatusListError> {
        let mut encoder = ZlibEncoder::new(
            Vec::with_capacity(self.bytes.len() / 8 + 64),
            Compression::best(),
        );
        encoder
            .write_all(&self.bytes)
            .map_err(|error| StatusListError::Zlib(error.to_string()))?;
        let compressed = encoder
            .finish()
            .map_err(|error| StatusListError::Zlib(error.to_string()))?;
        Ok(b64::encode(compressed))
    }

    /// Reads an `lst` value of a list of `bits` bits, refusing lists that decompress to more than
    /// [`MAX_LIST_BYTES`].
    pub fn decode_lst(bits: u8, lst: &str) -> Result<Self, StatusListError> {
        Self::decode_lst_with_limit(bits, lst, MAX_LIST_BYTES)
    }

    /// Reads an `lst` value, refusing lists that decompress to more than `max_bytes`.
    ///
    /// `lst` must be canonical base64url without padding of exactly one complete ZLIB stream
    /// (its Adler-32 checksum checked), with nothing after it.
    pub fn decode_lst_with_limit(
        bits: u8,
        lst: &str,
        max_bytes: usize,
    ) -> Result<Self, StatusListError> {
        check_bits(u64::from(bits))?;
        // A reasonable encoder grows incompressible data by a few bytes per 16 KiB block at
        // most; an `lst` past that margin is refused before any decoding work.
        let max_compressed = max_bytes
            .saturating_add(max_bytes / 1024)
            .saturating_add(64);
        if lst.len() / 4 * 3 > max_compressed {
            return Err(StatusListError::TooLarge { limit: max_bytes });
        }
        let compressed = b64::decode(lst).map_err(|_| StatusListError::Base64)?;
        let bytes = inflate_zlib(&compressed, max_bytes)?;
        Ok(Self::from_packed(bits, bytes))
    }
}

impl fmt::Debug for StatusList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A list can hold millions of entries: print its shape, not its contents.
        f.debug_struct("StatusList")
            .field("bits", &self.bits)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

pub(super) fn check_bits(bits: u64) -> Result<u8, StatusListError> {
    match bits {
        1 | 2 | 4 | 8 => Ok(bits as u8),
        _ => Err(StatusListError::InvalidBits(bits)),
    }
}

/// Decompresses one whole ZLIB stream of at most `limit` bytes of output.
///
/// Reading stops one byte past the limit, so a decompression bomb costs at most `limit` bytes
/// of memory and the time to inflate them. The decoder reports a truncated stream or a bad
/// Adler-32 checksum as an error; bytes after the stream are left unread and refused here.
fn inflate_zlib(input: &[u8], limit: usize) -> Result<Vec<u8>, StatusListError> {
    let mut decoder = ZlibDecoder::new(input);
    // Status lists are mostly zeros and compress well: start from a generous guess.
    let mut out = Vec::with_capacity(input.len().saturating_mul(8).clamp(64, limit.max(64)));
    let read_limit = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    (&mut decoder)
        .take(read_limit)
        .read_to_end(&mut out)
        .map_err(|error| StatusListError::Zlib(error.to_string()))?;
    if out.len() > limit {
        return Err(StatusListError::TooLarge { limit });
    }
    if usize::try_from(decoder.total_in()).ok() != Some(input.len()) {
        return Err(StatusListError::TrailingData);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Draft section 4.1, 1-bit example.
    const ONE_BIT: [u8; 16] = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];
    const ONE_BIT_LST: &str = "eNrbuRgAAhcBXQ";
    /// Draft section 4.1, 2-bit example.
    const TWO_BIT: [u8; 12] = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3];
    const TWO_BIT_LST: &str = "eNo76fITAAPfAgc";

    fn statuses(list: &StatusList) -> Vec<u8> {
        list.iter().collect()
    }

    #[test]
    fn draft_one_bit_example() {
        let list = StatusList::decode_lst(1, ONE_BIT_LST).unwrap();
        assert_eq!(list.as_bytes(), [0xb9, 0xa3]);
        assert_eq!(list.len(), 16);
        assert_eq!(statuses(&list), ONE_BIT);
        let built = StatusList::from_statuses(1, &ONE_BIT).unwrap();
        assert_eq!(built, list);
        let again = StatusList::decode_lst(1, &built.encode_lst().unwrap()).unwrap();
        assert_eq!(statuses(&again), ONE_BIT);
    }

    #[test]
    fn draft_two_bit_example() {
        let list = StatusList::decode_lst(2, TWO_BIT_LST).unwrap();
        assert_eq!(list.as_bytes(), [0xc9, 0x44, 0xf9]);
        assert_eq!(statuses(&list), TWO_BIT);
        assert_eq!(list.status(1).unwrap(), Status::Suspended);
        assert_eq!(list.status(3).unwrap(), Status::ApplicationSpecific(3));
        let built = StatusList::from_statuses(2, &TWO_BIT).unwrap();
        assert_eq!(built.as_bytes(), [0xc9, 0x44, 0xf9]);
        let again = StatusList::decode_lst(2, &built.encode_lst().unwrap()).unwrap();
        assert_eq!(statuses(&again), TWO_BIT);
    }

    #[test]
    fn four_and_eight_bit_round_trips() {
        let four: Vec<u8> = (0..37u8).map(|i| i % 16).collect();
        let list = StatusList::from_statuses(4, &four).unwrap();
        assert_eq!(list.as_bytes()[0], 0x10);
        assert_eq!(list.as_bytes().len(), 19);
        let back = StatusList::decode_lst(4, &list.encode_lst().unwrap()).unwrap();
        assert_eq!(back.len(), 38);
        assert_eq!(&statuses(&back)[..37], four);
        assert_eq!(back.get(37).unwrap(), 0);

        let eight: Vec<u8> = (0..=255u8).collect();
        let list = StatusList::from_statuses(8, &eight).unwrap();
        assert_eq!(list.as_bytes(), eight);
        let back = StatusList::decode_lst(8, &list.encode_lst().unwrap()).unwrap();
        assert_eq!(statuses(&back), eight);
        assert_eq!(
            back.status(0x0B).unwrap(),
            Status::ApplicationSpecific(0x0B)
        );
        assert_eq!(back.status(0x10).unwrap(), Status::Reserved(0x10));
    }

    #[test]
    fn set_overwrites_only_its_entry() {
        let mut list = StatusList::new(2, 8).unwrap();
        for idx in 0..8 {
            list.set(idx, 3).unwrap();
        }
        list.set(5, 1).unwrap();
        assert_eq!(statuses(&list), [3, 3, 3, 3, 3, 1, 3, 3]);
        list.set(5, 0).unwrap();
        assert_eq!(statuses(&list), [3, 3, 3, 3, 3, 0, 3, 3]);
    }

    #[test]
    fn out_of_range_and_too_large_values() {
        let mut list = StatusList::new(1, 10).unwrap();
        assert_eq!(list.as_bytes().len(), 2);
        assert_eq!(
            list.get(10),
            Err(StatusListError::IndexOutOfRange { idx: 10, len: 10 })
        );
        assert!(list.set(10, 1).is_err());
        assert!(list.get(usize::MAX).is_err());
        assert_eq!(
            list.set(0, 2),
            Err(StatusListError::ValueTooLarge { value: 2, bits: 1 })
        );
        let mut list = StatusList::new(4, 2).unwrap();
        assert!(list.set(1, 0x10).is_err());
        list.set(1, 0x0F).unwrap();
        assert!(StatusList::from_statuses(2, &[0, 4]).is_err());
        assert!(StatusList::new(8, 0).unwrap().get(0).is_err());
    }

    #[test]
    fn invalid_bits_and_sizes() {
        for bits in [0u8, 3, 5, 7, 9, 16, 255] {
            assert_eq!(
                StatusList::new(bits, 8),
                Err(StatusListError::InvalidBits(bits.into()))
            );
            assert!(StatusList::decode_lst(bits, ONE_BIT_LST).is_err());
            assert!(StatusList::from_bytes(bits, vec![0]).is_err());
        }
        assert!(matches!(
            StatusList::new(8, MAX_LIST_BYTES + 1),
            Err(StatusListError::TooLarge { .. })
        ));
        assert!(StatusList::new(8, usize::MAX).is_err());
        assert_eq!(StatusList::new(1, 9).unwrap().as_bytes().len(), 2);
    }

    #[test]
    fn bad_base64_and_bad_zlib() {
        for lst in [
            "eNrbuRgAAhcBXQ==",
            "eNrbuRgAAhcBXQ+",
            "eNrb uRgAAhcBXQ",
            "eNrbuRgAAhcBXR",
        ] {
            assert_eq!(
                StatusList::decode_lst(1, lst),
                Err(StatusListError::Base64),
                "{lst}"
            );
        }
        // Raw deflate, gzip, and plain bytes are not ZLIB.
        for bytes in [&b"\x1f\x8b\x08\x00"[..], b"hello", b"", b"\x78"] {
            assert!(matches!(
                StatusList::decode_lst(1, &b64::encode(bytes)),
                Err(StatusListError::Zlib(_))
            ));
        }
        let valid = b64::decode(ONE_BIT_LST).unwrap();
        // Truncated anywhere, including inside the Adler-32 trailer.
        for cut in 0..valid.len() {
            assert!(
                matches!(
                    StatusList::decode_lst(1, &b64::encode(&valid[..cut])),
                    Err(StatusListError::Zlib(_))
                ),
                "cut at {cut}"
            );
        }
        // A wrong checksum.
        let mut corrupt = valid.clone();
        *corrupt.last_mut().unwrap() ^= 1;
        assert!(StatusList::decode_lst(1, &b64::encode(&corrupt)).is_err());
        // Anything after the stream.
        let mut trailing = valid;
        trailing.push(0);
        assert_eq!(
            StatusList::decode_lst(1, &b64::encode(&trailing)),
            Err(StatusListError::TrailingData)
        );
    }

    /// A valid ZLIB stream of `len` zero bytes in about `len / 160` bytes: one fixed-Huffman
    /// block of a literal zero, then back-references of 258 bytes at distance 1 (RFC 1951).
    fn zero_bomb(len: usize) -> Vec<u8> {
        struct Bits {
            out: Vec<u8>,
            acc: u32,
            used: u32,
        }
        impl Bits {
            /// Writes `count` bits of `value`, least significant first.
            fn put(&mut self, value: u32, count: u32) {
                for i in 0..count {
                    self.acc |= ((value >> i) & 1) << self.used;
                    self.used += 1;
                    if self.used == 8 {
                        self.out.push(self.acc as u8);
                        (self.acc, self.used) = (0, 0);
                    }
                }
            }
            /// Writes a Huffman code, most significant bit first.
            fn code(&mut self, code: u32, count: u32) {
                for i in (0..count).rev() {
                    self.put((code >> i) & 1, 1);
                }
            }
        }
        let mut bits = Bits {
            out: vec![0x78, 0x01],
            acc: 0,
            used: 0,
        };
        bits.put(1, 1); // BFINAL
        bits.put(1, 2); // BTYPE = fixed Huffman
        let literal_zero = |bits: &mut Bits| bits.code(0x30, 8);
        literal_zero(&mut bits);
        let mut remaining = len - 1;
        while remaining >= 258 {
            bits.code(0xC5, 8); // length code 285: 258 bytes
            bits.code(0, 5); // distance code 0: distance 1
            remaining -= 258;
        }
        for _ in 0..remaining {
            literal_zero(&mut bits);
        }
        bits.code(0, 7); // end of block
        if bits.used > 0 {
            bits.out.push(bits.acc as u8);
        }
        // Adler-32 of `len` zeros: a stays 1, b grows by 1 per byte.
        let adler = (((len % 65521) as u32) << 16) | 1;
        bits.out.extend_from_slice(&adler.to_be_bytes());
        bits.out
    }

    #[test]
    fn decompression_bomb_is_refused() {
        let small = zero_bomb(100_000);
        let list = StatusList::decode_lst(1, &b64::encode(&small)).unwrap();
        assert_eq!(list.as_bytes().len(), 100_000);
        assert!(list.as_bytes().iter().all(|&b| b == 0));
        assert_eq!(
            StatusList::decode_lst_with_limit(1, &b64::encode(&small), 99_999),
            Err(StatusListError::TooLarge { limit: 99_999 })
        );
        assert!(StatusList::decode_lst_with_limit(1, &b64::encode(&small), 100_000).is_ok());

        let bomb = zero_bomb(64 * 1024 * 1024);
        assert!(bomb.len() < 512 * 1024);
        assert_eq!(
            StatusList::decode_lst(1, &b64::encode(&bomb)),
            Err(StatusListError::TooLarge {
                limit: MAX_LIST_BYTES
            })
        );
    }

    #[test]
    fn oversized_lst_is_refused_before_decoding() {
        let lst = "A".repeat(4 * 1024);
        assert_eq!(
            StatusList::decode_lst_with_limit(1, &lst, 1024),
            Err(StatusListError::TooLarge { limit: 1024 })
        );
    }

    #[test]
    fn million_entries() {
        let mut list = StatusList::new(2, 1_000_000).unwrap();
        for idx in (0..1_000_000).step_by(997) {
            list.set(idx, (idx % 4) as u8).unwrap();
        }
        let lst = list.encode_lst().unwrap();
        let back = StatusList::decode_lst(2, &lst).unwrap();
        assert_eq!(back.as_bytes(), list.as_bytes());
        assert_eq!(back.get(997 * 3).unwrap(), ((997 * 3) % 4) as u8);
        assert_eq!(back.get(999_999).unwrap(), 0);
    }

    #[test]
    fn status_names_and_values() {
        for value in 0..=255u8 {
            assert_eq!(Status::from(value).as_u8(), value);
        }
        assert_eq!(Status::from(0).as_str(), "valid");
        assert_eq!(Status::from(1).as_str(), "invalid");
        assert_eq!(Status::from(2).as_str(), "suspended");
        assert_eq!(Status::from(3).as_str(), "application_specific");
        assert_eq!(Status::from(0x0F), Status::ApplicationSpecific(0x0F));
        assert_eq!(Status::from(0x04), Status::Reserved(0x04));
        assert_eq!(Status::from(0x0A), Status::Reserved(0x0A));
        assert_eq!(
            Status::from(0x0E).to_string(),
            "application_specific (0x0e)"
        );
        assert!(Status::Valid.is_valid() && !Status::Suspended.is_valid());
        assert_eq!(
            format!("{:?}", StatusList::new(1, 8).unwrap()),
            "StatusList { bits: 1, len: 8, .. }"
        );
    }

    fn bits_and_values() -> impl Strategy<Value = (u8, Vec<u8>)> {
        prop_oneof![Just(1u8), Just(2), Just(4), Just(8)].prop_flat_map(|bits| {
            let max = u8::MAX >> (8 - bits);
            (Just(bits), proptest::collection::vec(0..=max, 0..600))
        })
    }

    proptest! {
        #[test]
        fn encode_decode_round_trip((bits, values) in bits_and_values()) {
            let list = StatusList::from_statuses(bits, &values).unwrap();
            prop_assert_eq!(statuses(&list), values.clone());
            let back = StatusList::decode_lst(bits, &list.encode_lst().unwrap()).unwrap();
            prop_assert_eq!(back.as_bytes(), list.as_bytes());
            prop_assert!(back.len() >= values.len() && back.len() < values.len() + 8);
            let decoded = statuses(&back);
            prop_assert_eq!(&decoded[..values.len()], &values[..]);
            prop_assert!(decoded[values.len()..].iter().all(|&v| v == 0));
        }

        #[test]
        fn arbitrary_lst_never_panics(lst in "[A-Za-z0-9_=+/ -]{0,200}", bits in 0u8..10) {
            let _ = StatusList::decode_lst_with_limit(bits, &lst, 4096);
        }

        #[test]
        fn arbitrary_zlib_bytes_never_panic(
            body in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut bytes = vec![0x78, 0x9c];
            bytes.extend(body);
            let _ = StatusList::decode_lst_with_limit(1, &b64::encode(&bytes), 4096);
        }
    }
}
