//! A minimal, strict DER reader for the few structures this module decodes
//! itself (algorithm identifiers, RSASSA-PSS parameters, SubjectPublicKeyInfo,
//! the certificate envelope and the extendedKeyUsage list).
//!
//! x509-parser does the heavy lifting for certificates; this reader exists so
//! that signature-relevant bytes are taken exactly as signed, and so that
//! parameters x509-parser does not interpret are checked with DER rules
//! (definite, minimal lengths; no trailing bytes).

use super::X509Error;

/// Universal tag: INTEGER.
pub(crate) const INTEGER: u8 = 0x02;
/// Universal tag: BIT STRING.
pub(crate) const BIT_STRING: u8 = 0x03;
/// Universal tag: NULL.
pub(crate) const NULL: u8 = 0x05;
/// Universal tag: OBJECT IDENTIFIER.
pub(crate) const OID: u8 = 0x06;
/// Universal tag: SEQUENCE (constructed).
pub(crate) const SEQUENCE: u8 = 0x30;

/// Context-specific, constructed tag `[n]`.
pub(crate) const fn context(n: u8) -> u8 {
    0xA0 | n
}

/// One decoded tag-length-value element.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    /// The (single-byte) tag.
    pub(crate) tag: u8,
    /// The content octets.
    pub(crate) value: &'a [u8],
    /// The whole element: tag, length and content.
    pub(crate) raw: &'a [u8],
}

/// A cursor over a sequence of DER elements.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Reads `input`; `what` names the structure in error messages.
    pub(crate) fn new(input: &'a [u8], what: &'static str) -> Self {
        Self { rest: input, what }
    }

    fn malformed(&self) -> X509Error {
        X509Error::Malformed(self.what)
    }

    /// True when every element has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The tag of the next element, if any.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Reads the next element.
    pub(crate) fn next_tlv(&mut self) -> Result<Tlv<'a>, X509Error> {
        let input = self.rest;
        let (&tag, after_tag) = input.split_first().ok_or_else(|| self.malformed())?;
        // Multi-byte tags never occur in the structures read here.
        if tag & 0x1f == 0x1f {
            return Err(self.malformed());
        }
        let (&first, mut after_len) = after_tag.split_first().ok_or_else(|| self.malformed())?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            // 0 would be BER's indefinite length; more than 4 length octets is
            // far beyond anything a certificate needs.
            if count == 0 || count > 4 {
                return Err(self.malformed());
            }
            let (len_bytes, rest) = after_len
                .split_at_checked(count)
                .ok_or_else(|| self.malformed())?;
            if len_bytes.first() == Some(&0) {
                return Err(self.malformed());
            }
            let len = len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            if len < 0x80 {
                return Err(self.malformed());
            }
            after_len = rest;
            len
        };
        let (value, rest) = after_len
            .split_at_checked(len)
            .ok_or_else(|| self.malformed())?;
        let header_len = input.len() - after_len.len();
        let raw = input
            .get(..header_len + len)
            .ok_or_else(|| self.malformed())?;
        self.rest = rest;
        Ok(Tlv { tag, value, raw })
    }

    /// Reads the next element and checks its tag.
    pub(crate) fn expect(&mut self, tag: u8) -> Result<Tlv<'a>, X509Error> {
        let tlv = self.next_tlv()?;
        if tlv.tag == tag {
            Ok(tlv)
        } else {
            Err(self.malformed())
        }
    }

    /// Reads the next element if it has `tag`.
    pub(crate) fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, X509Error> {
        if self.peek_tag() == Some(tag) {
            self.next_tlv().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Fails unless every element has been read.
    pub(crate) fn finish(&self) -> Result<(), X509Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.malformed())
        }
    }
}

/// Renders OBJECT IDENTIFIER content octets in dotted form ("1.2.840.10045.4.3.2").
///
/// Returns `None` for encodings DER forbids (non-minimal arcs, truncated arcs,
/// empty content) or arcs that do not fit in 64 bits.
pub(crate) fn oid_to_dotted(content: &[u8]) -> Option<String> {
    if content.is_empty() || content.last().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    let mut at_start = true;
    for &byte in content {
        if at_start && byte == 0x80 {
            return None;
        }
        value = value.checked_mul(128)? | u64::from(byte & 0x7f);
        at_start = byte & 0x80 == 0;
        if at_start {
            arcs.push(value);
            value = 0;
        }
    }
    let mut out = String::new();
    for (i, arc) in arcs.iter().enumerate() {
        if i == 0 {
            let (first, second) = match *arc {
                a if a < 40 => (0, a),
                a if a < 80 => (1, a - 40),
                a => (2, a - 80),
            };
            out.push_str(&format!("{first}.{second}"));
        } else {
            out.push_str(&format!(".{arc}"));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_elements_and_rejects_trailing() {
        // SEQUENCE { INTEGER 5, NULL } followed by a stray byte.
        let data = [0x30, 0x05, 0x02, 0x01, 0x05, 0x05, 0x00, 0xff];
        let mut r = Reader::new(&data, "test");
        let seq = r.expect(SEQUENCE).unwrap();
        assert_eq!(seq.raw.len(), 7);
        assert!(r.finish().is_err());
        let mut inner = Reader::new(seq.value, "test");
        assert_eq!(inner.expect(INTEGER).unwrap().value, &[5]);
        assert!(inner.optional(OID).unwrap().is_none());
        assert!(inner.optional(NULL).unwrap().is_some());
        inner.finish().unwrap();
    }

    #[test]
    fn rejects_non_minimal_and_indefinite_lengths() {
        for bad in [
            &[0x04, 0x81, 0x01, 0x00][..], // long form for a short length
            &[0x30, 0x80, 0x00, 0x00],     // indefinite length
            &[0x04, 0x82, 0x00, 0x80],     // leading zero length octet
            &[0x04, 0x05, 0x00],           // truncated content
        ] {
            assert!(Reader::new(bad, "test").next_tlv().is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn dotted_oids() {
        assert_eq!(
            oid_to_dotted(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]).as_deref(),
            Some("1.2.840.10045.4.3.2")
        );
        assert_eq!(
            oid_to_dotted(&[0x55, 0x1d, 0x25]).as_deref(),
            Some("2.5.29.37")
        );
        assert_eq!(
            oid_to_dotted(&[0x2b, 0x65, 0x70]).as_deref(),
            Some("1.3.101.112")
        );
        assert_eq!(oid_to_dotted(&[0x2a, 0x86]), None);
        assert_eq!(oid_to_dotted(&[0x2a, 0x80, 0x01]), None);
    }
}
