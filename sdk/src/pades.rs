//! PAdES baseline signatures (ETSI EN 319 142-1) B-B and B-T: a PDF signed by an incremental
//! update (ISO 32000-1 section 7.5.6) that adds a signature field with its widget on the first
//! page and a signature dictionary (`/Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached`)
//! whose `/Contents` holds a CMS signature of the bytes named by `/ByteRange` (the whole file
//! but the `/Contents` value).
//!
//! The original bytes are kept as they are, so a signature already in the document stays valid.
//! `lopdf` reads the structure (pages, catalog, AcroForm, encryption); the update itself is
//! written here, so the byte offsets are known exactly.
//!
//! B-T: the `/Contents` placeholder leaves room for a time-stamp token, and
//! [`add_timestamp`] puts the time-stamped CMS in place of the first one (the byte range does not
//! cover `/Contents`, so nothing signed changes).

use std::io::Write as _;

use lopdf::{Dictionary, Document, Object, ObjectId, StringFormat};

use crate::{
    cms::{self, CmsError, SignerChain},
    jose::JwsSigner,
};

/// Bytes reserved for the CMS in `/Contents` (hex-encoded in the file: twice as many
/// characters): a P-256 signature with a three-certificate chain and a time-stamp token with its
/// own chain fits with room to spare.
pub const CONTENTS_CAPACITY: usize = 16 * 1024;

/// Width of each `/ByteRange` number in the placeholder (enough for files up to 10 GB).
const RANGE_WIDTH: usize = 10;

/// Why a PDF could not be signed or its signatures read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    /// Not a PDF this module can read (names what is wrong).
    #[error("malformed PDF: {0}")]
    Malformed(String),
    /// The PDF is encrypted: signing it would need its password and would be refused by readers
    /// without the matching security handler; refused.
    #[error("the PDF is encrypted")]
    Encrypted,
    /// The PDF carries no signature.
    #[error("the PDF has no signature")]
    Unsigned,
    /// The CMS does not fit the `/Contents` placeholder.
    #[error("the signature ({0} bytes) does not fit the /Contents placeholder")]
    TooLarge(usize),
    /// The last signature does not end the file (something was appended after it): a time-stamp
    /// cannot be added to it without breaking a later signature.
    #[error("the last signature does not cover the end of the file")]
    NotLast,
    /// Making or reading the CMS failed.
    #[error("CMS: {0}")]
    Cms(#[from] CmsError),
}

fn malformed(what: impl std::fmt::Display) -> PdfError {
    PdfError::Malformed(what.to_string())
}

/// Loads `pdf` with lopdf, refusing encrypted documents.
fn load(pdf: &[u8]) -> Result<Document, PdfError> {
    if !pdf.starts_with(b"%PDF-") {
        return Err(malformed("no %PDF- header"));
    }
    match Document::load_mem(pdf) {
        Ok(document) if document.is_encrypted() || document.was_encrypted() => {
            Err(PdfError::Encrypted)
        }
        Ok(document) => Ok(document),
        Err(_) if memchr::memmem::find(pdf, b"/Encrypt").is_some() => Err(PdfError::Encrypted),
        Err(error) => Err(malformed(error)),
    }
}

/// The offset the last `startxref` names: the previous cross-reference section.
fn last_startxref(pdf: &[u8]) -> Result<u64, PdfError> {
    let at = memchr::memmem::rfind(pdf, b"startxref").ok_or_else(|| malformed("no startxref"))?;
    let tail = pdf.get(at + 9..).unwrap_or_default();
    let digits: String = tail
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| char::from(b))
        .collect();
    digits.parse().map_err(|_| malformed("bad startxref"))
}

/// `D:YYYYMMDDHHmmSS+00'00'` (ISO 32000-1 section 7.9.4) for Unix seconds.
fn pdf_date(unix_seconds: u64) -> Result<String, PdfError> {
    let time = der::DateTime::from_unix_duration(std::time::Duration::from_secs(unix_seconds))
        .map_err(malformed)?;
    Ok(format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}+00'00'",
        time.year(),
        time.month(),
        time.day(),
        time.hour(),
        time.minutes(),
        time.seconds()
    ))
}

/// Reads a PDF date (`D:YYYYMMDDHHmmSS` with an optional `Z` or `+HH'mm'` offset) as Unix
/// seconds.
fn parse_pdf_date(text: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(text).ok()?;
    let text = text.strip_prefix("D:").unwrap_or(text);
    let digits = |range: std::ops::Range<usize>| -> Option<u16> { text.get(range)?.parse().ok() };
    let year = digits(0..4)?;
    let month = digits(4..6).unwrap_or(1);
    let day = digits(6..8).unwrap_or(1);
    let hour = digits(8..10).unwrap_or(0);
    let minute = digits(10..12).unwrap_or(0);
    let second = digits(12..14).unwrap_or(0);
    let local = der::DateTime::new(
        year,
        u8::try_from(month).ok()?,
        u8::try_from(day).ok()?,
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
    )
    .ok()?
    .unix_duration()
    .as_secs();
    let rest = text.get(14..).unwrap_or("");
    let offset = match rest.chars().next() {
        Some(sign @ ('+' | '-')) => {
            let hours: u64 = rest.get(1..3)?.parse().ok()?;
            let minutes: u64 = rest.get(4..6).and_then(|m| m.parse().ok()).unwrap_or(0);
            Some((sign, hours * 3600 + minutes * 60))
        }
        _ => None,
    };
    match offset {
        Some(('+', seconds)) => local.checked_sub(seconds),
        Some((_, seconds)) => local.checked_add(seconds),
        None => Some(local),
    }
}

/// Serializes a direct object (ISO 32000-1 section 7.3). Streams never occur in what the update
/// rewrites (pages, AcroForm dictionaries, annotation arrays) and are refused.
fn serialize(out: &mut Vec<u8>, object: &Object) -> Result<(), PdfError> {
    match object {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Boolean(value) => out.extend_from_slice(if *value { b"true" } else { b"false" }),
        Object::Integer(value) => write!(out, "{value}").map_err(malformed)?,
        Object::Real(value) => write!(out, "{value}").map_err(malformed)?,
        Object::Name(name) => {
            out.push(b'/');
            for &byte in name {
                let regular = byte.is_ascii_graphic() && !b"()<>[]{}/%#".contains(&byte);
                if regular {
                    out.push(byte);
                } else {
                    write!(out, "#{byte:02X}").map_err(malformed)?;
                }
            }
        }
        Object::String(bytes, StringFormat::Hexadecimal) => {
            out.push(b'<');
            for byte in bytes {
                write!(out, "{byte:02X}").map_err(malformed)?;
            }
            out.push(b'>');
        }
        Object::String(bytes, StringFormat::Literal) => {
            out.push(b'(');
            for &byte in bytes {
                match byte {
                    b'(' | b')' | b'\\' => out.extend_from_slice(&[b'\\', byte]),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    _ => out.push(byte),
                }
            }
            out.push(b')');
        }
        Object::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                serialize(out, item)?;
            }
            out.push(b']');
        }
        Object::Dictionary(dictionary) => {
            out.extend_from_slice(b"<<");
            for (key, value) in dictionary.iter() {
                serialize(out, &Object::Name(key.clone()))?;
                out.push(b' ');
                serialize(out, value)?;
            }
            out.extend_from_slice(b">>");
        }
        Object::Reference((number, generation)) => {
            write!(out, "{number} {generation} R").map_err(malformed)?;
        }
        Object::Stream(_) => return Err(malformed("a stream where a direct object was expected")),
    }
    Ok(())
}

fn write_object(out: &mut Vec<u8>, id: ObjectId, object: &Object) -> Result<(), PdfError> {
    writeln!(out, "{} {} obj", id.0, id.1).map_err(malformed)?;
    serialize(out, object)?;
    out.extend_from_slice(b"\nendobj\n");
    Ok(())
}

/// Signs `pdf` (PAdES B-B) with `signer` and the certificates of `chain`; `signing_time` (Unix
/// seconds) is the signature dictionary's `/M` and the CMS signing-time. Returns the whole
/// signed file: the original bytes, then the incremental update.
pub fn sign(
    pdf: &[u8],
    signer: &dyn JwsSigner,
    chain: &SignerChain,
    signing_time: u64,
) -> Result<Vec<u8>, PdfError> {
    let document = load(pdf)?;
    let previous_xref = last_startxref(pdf)?;
    let root_id = document
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| malformed("no /Root"))?;
    let mut catalog = document
        .get_dictionary(root_id)
        .map_err(|_| malformed("no catalog"))?
        .clone();
    let page_id = *document
        .get_pages()
        .get(&1)
        .ok_or_else(|| malformed("no page"))?;
    let mut page = document
        .get_dictionary(page_id)
        .map_err(|_| malformed("page is not a dictionary"))?
        .clone();

    let signature_id: ObjectId = (document.max_id + 1, 0);
    let widget_id: ObjectId = (document.max_id + 2, 0);
    let mut changed: Vec<(ObjectId, Object)> = Vec::new();

    // The AcroForm: inline in the catalog, or an object of its own.
    let (mut acro_form, acro_form_id) = match catalog.get(b"AcroForm") {
        Ok(Object::Reference(id)) => (
            document
                .get_dictionary(*id)
                .map_err(|_| malformed("AcroForm is not a dictionary"))?
                .clone(),
            Some(*id),
        ),
        Ok(Object::Dictionary(dictionary)) => (dictionary.clone(), None),
        Ok(_) => return Err(malformed("AcroForm is not a dictionary")),
        Err(_) => (Dictionary::new(), None),
    };
    let mut fields = match acro_form.get(b"Fields") {
        Ok(Object::Array(fields)) => fields.clone(),
        Ok(Object::Reference(id)) => document
            .get_object(*id)
            .and_then(Object::as_array)
            .map_err(|_| malformed("AcroForm /Fields is not an array"))?
            .clone(),
        _ => Vec::new(),
    };
    let field_name = format!("Signature{}", fields.len() + 1);
    fields.push(Object::Reference(widget_id));
    acro_form.set("Fields", Object::Array(fields));
    // SignaturesExist | AppendOnly (ISO 32000-1 table 219).
    acro_form.set("SigFlags", Object::Integer(3));
    match acro_form_id {
        Some(id) => changed.push((id, Object::Dictionary(acro_form))),
        None => {
            catalog.set("AcroForm", Object::Dictionary(acro_form));
            changed.push((root_id, Object::Dictionary(catalog)));
        }
    }

    // The page lists the widget among its annotations.
    match page.get(b"Annots") {
        Ok(Object::Reference(id)) => {
            let mut annotations = document
                .get_object(*id)
                .and_then(Object::as_array)
                .map_err(|_| malformed("page /Annots is not an array"))?
                .clone();
            annotations.push(Object::Reference(widget_id));
            changed.push((*id, Object::Array(annotations)));
        }
        Ok(Object::Array(annotations)) => {
            let mut annotations = annotations.clone();
            annotations.push(Object::Reference(widget_id));
            page.set("Annots", Object::Array(annotations));
            changed.push((page_id, Object::Dictionary(page)));
        }
        Ok(_) => return Err(malformed("page /Annots is not an array")),
        Err(_) => {
            page.set("Annots", Object::Array(vec![Object::Reference(widget_id)]));
            changed.push((page_id, Object::Dictionary(page)));
        }
    }

    let mut widget = Dictionary::new();
    widget.set("Type", Object::Name(b"Annot".to_vec()));
    widget.set("Subtype", Object::Name(b"Widget".to_vec()));
    widget.set("FT", Object::Name(b"Sig".to_vec()));
    widget.set("T", Object::string_literal(field_name));
    widget.set("V", Object::Reference(signature_id));
    // Print | Locked: an invisible signature (zero rectangle), as most signing tools make.
    widget.set("F", Object::Integer(132));
    widget.set(
        "Rect",
        Object::Array(vec![0.into(), 0.into(), 0.into(), 0.into()]),
    );
    widget.set("P", Object::Reference(page_id));

    // The update: the original bytes untouched, then the new and changed objects.
    let mut out = Vec::with_capacity(pdf.len() + 2 * CONTENTS_CAPACITY + 4096);
    out.extend_from_slice(pdf);
    if !pdf.ends_with(b"\n") {
        out.push(b'\n');
    }
    let mut offsets: Vec<(ObjectId, usize)> = Vec::new();
    for (id, object) in &changed {
        offsets.push((*id, out.len()));
        write_object(&mut out, *id, object)?;
    }
    offsets.push((widget_id, out.len()));
    write_object(&mut out, widget_id, &Object::Dictionary(widget))?;

    // The signature dictionary, written by hand: its placeholders are patched in place.
    offsets.push((signature_id, out.len()));
    let placeholder = "9".repeat(RANGE_WIDTH);
    write!(
        out,
        "{} 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M ({}) /ByteRange [0 {placeholder} {placeholder} {placeholder}] /Contents <",
        signature_id.0,
        pdf_date(signing_time)?
    )
    .map_err(malformed)?;
    let range_at =
        memchr::memmem::rfind(&out, b"/ByteRange [").ok_or_else(|| malformed("range"))?;
    let contents_start = out.len() - 1;
    out.resize(out.len() + 2 * CONTENTS_CAPACITY, b'0');
    out.extend_from_slice(b"> >>\nendobj\n");
    let contents_end = contents_start + 2 * CONTENTS_CAPACITY + 2;

    // Cross-reference section and trailer.
    let xref_at = out.len();
    out.extend_from_slice(b"xref\n");
    offsets.sort_by_key(|(id, _)| *id);
    for ((number, generation), offset) in &offsets {
        write!(out, "{number} 1\n{offset:010} {generation:05} n \n").map_err(malformed)?;
    }
    let mut trailer = Dictionary::new();
    trailer.set("Size", Object::Integer(i64::from(document.max_id) + 3));
    trailer.set("Root", Object::Reference(root_id));
    for key in [&b"Info"[..], b"ID"] {
        if let Ok(value) = document.trailer.get(key) {
            trailer.set(key, value.clone());
        }
    }
    trailer.set(
        "Prev",
        Object::Integer(i64::try_from(previous_xref).map_err(malformed)?),
    );
    out.extend_from_slice(b"trailer\n");
    serialize(&mut out, &Object::Dictionary(trailer))?;
    write!(out, "\nstartxref\n{xref_at}\n%%EOF\n").map_err(malformed)?;

    // The byte range: everything but the /Contents hex string (delimiters included).
    let ranges = [0, contents_start, contents_end, out.len() - contents_end];
    let text = format!(
        "[0 {:<w$} {:<w$} {:<w$}]",
        ranges[1],
        ranges[2],
        ranges[3],
        w = RANGE_WIDTH
    );
    let slot = out
        .get_mut(range_at + 11..range_at + 11 + text.len())
        .ok_or_else(|| malformed("range"))?;
    slot.copy_from_slice(text.as_bytes());

    let digest = {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        hasher.update(out.get(..contents_start).unwrap_or_default());
        hasher.update(out.get(contents_end..).unwrap_or_default());
        let digest: [u8; 32] = hasher.finalize().into();
        digest
    };
    // PAdES baseline: the time is /M, and the CMS carries no signing-time attribute
    // (ETSI EN 319 142-1 section 5.3).
    let cms = cms::sign_digest(&digest, signer, chain, None)?;
    fill_contents(&mut out, contents_start, contents_end, &cms)?;
    Ok(out)
}

fn fill_contents(out: &mut [u8], start: usize, end: usize, cms: &[u8]) -> Result<(), PdfError> {
    let slot = out
        .get_mut(start + 1..end - 1)
        .ok_or_else(|| malformed("contents"))?;
    if cms.len() * 2 > slot.len() {
        return Err(PdfError::TooLarge(cms.len()));
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    slot.fill(b'0');
    for (pair, byte) in slot.chunks_exact_mut(2).zip(cms) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0x0f)];
    }
    Ok(())
}

/// A signature found in a PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfSignature {
    /// `/ByteRange`: offset and length of the two signed parts.
    pub byte_range: [usize; 4],
    /// The CMS from `/Contents`, without the zero padding.
    pub cms: Vec<u8>,
    /// `/M`, Unix seconds.
    pub signing_time: Option<u64>,
    /// `/SubFilter`.
    pub sub_filter: String,
    /// SHA-256 of the signed bytes (the byte range's two parts).
    pub digest: [u8; 32],
    /// Whether the byte range ends at the end of the file (nothing appended after signing).
    pub covers_end: bool,
}

/// The length of the DER element at the start of `bytes` (the CMS without `/Contents` padding).
fn der_length(bytes: &[u8]) -> Option<usize> {
    let (&first, rest) = bytes.get(1..)?.split_first()?;
    if first < 0x80 {
        return Some(2 + usize::from(first));
    }
    let count = usize::from(first & 0x7f);
    if count == 0 || count > 4 {
        return None;
    }
    let len = rest
        .get(..count)?
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    Some(2 + count + len)
}

/// The signatures of `pdf`, oldest (shortest byte range) first. Each byte range is checked:
/// it starts at 0, its gap is exactly the `/Contents` hex string, and it stays inside the file.
pub fn signatures(pdf: &[u8]) -> Result<Vec<PdfSignature>, PdfError> {
    let document = load(pdf)?;
    let mut found = Vec::new();
    for object in document.objects.values() {
        let Ok(dictionary) = object.as_dict() else {
            continue;
        };
        let (Ok(range), Ok(contents)) = (dictionary.get(b"ByteRange"), dictionary.get(b"Contents"))
        else {
            continue;
        };
        let range = range
            .as_array()
            .map_err(|_| malformed("/ByteRange is not an array"))?;
        let numbers: Vec<usize> = range
            .iter()
            .map(|n| n.as_i64().ok().and_then(|n| usize::try_from(n).ok()))
            .collect::<Option<_>>()
            .ok_or_else(|| malformed("/ByteRange holds a non-integer"))?;
        let [start, first_len, second_start, second_len] = numbers[..] else {
            return Err(malformed("/ByteRange is not four integers"));
        };
        let second_end = second_start
            .checked_add(second_len)
            .ok_or_else(|| malformed("/ByteRange overflows"))?;
        if start != 0 || first_len >= second_start || second_end > pdf.len() {
            return Err(malformed("/ByteRange out of the file"));
        }
        // The gap must be the hex string and nothing else, so no signed byte is left out.
        let gap = pdf.get(first_len..second_start).unwrap_or_default();
        let hex_only = gap.len() >= 2
            && gap.first() == Some(&b'<')
            && gap.last() == Some(&b'>')
            && gap
                .get(1..gap.len() - 1)
                .unwrap_or_default()
                .iter()
                .all(u8::is_ascii_hexdigit);
        if !hex_only {
            return Err(malformed("/ByteRange gap is not the /Contents string"));
        }
        let contents = contents
            .as_str()
            .map_err(|_| malformed("/Contents is not a string"))?;
        let cms_len = der_length(contents)
            .filter(|len| *len <= contents.len())
            .ok_or_else(|| PdfError::Cms(CmsError::Malformed("/Contents".into())))?;
        let digest = {
            use sha2::Digest;
            let mut hasher = sha2::Sha256::new();
            hasher.update(pdf.get(..first_len).unwrap_or_default());
            hasher.update(pdf.get(second_start..second_end).unwrap_or_default());
            let digest: [u8; 32] = hasher.finalize().into();
            digest
        };
        let text = |key: &[u8]| -> Option<Vec<u8>> {
            match dictionary.get(key).ok()? {
                Object::String(bytes, _) => Some(bytes.clone()),
                Object::Name(name) => Some(name.clone()),
                _ => None,
            }
        };
        found.push(PdfSignature {
            byte_range: [start, first_len, second_start, second_len],
            cms: contents.get(..cms_len).unwrap_or_default().to_vec(),
            signing_time: text(b"M").and_then(|m| parse_pdf_date(&m)),
            sub_filter: text(b"SubFilter")
                .map(|s| String::from_utf8_lossy(&s).into_owned())
                .unwrap_or_default(),
            digest,
            covers_end: second_end == pdf.len(),
        });
    }
    if found.is_empty() {
        return Err(PdfError::Unsigned);
    }
    found.sort_by_key(|s| s.byte_range[2] + s.byte_range[3]);
    Ok(found)
}

/// The last signature's CMS signature value: what its time-stamp covers.
pub fn last_signature_value(pdf: &[u8]) -> Result<Vec<u8>, PdfError> {
    let signatures = signatures(pdf)?;
    let last = signatures.last().ok_or(PdfError::Unsigned)?;
    Ok(cms::signature_value(&last.cms)?)
}

/// Adds a time-stamp token to the last signature (B-B to B-T), in its `/Contents` placeholder.
/// Only the unsigned part of the CMS changes; the signed bytes stay as they are. Refused when
/// something follows the signature in the file.
pub fn add_timestamp(pdf: &[u8], token: &[u8]) -> Result<Vec<u8>, PdfError> {
    let signatures = signatures(pdf)?;
    let last = signatures.last().ok_or(PdfError::Unsigned)?;
    if !last.covers_end {
        return Err(PdfError::NotLast);
    }
    let stamped = cms::add_signature_timestamp(&last.cms, token)?;
    let mut out = pdf.to_vec();
    fill_contents(&mut out, last.byte_range[1], last.byte_range[2], &stamped)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_dates_round_trip() {
        let date = pdf_date(1_767_225_600).unwrap();
        assert_eq!(date, "D:20260101000000+00'00'");
        assert_eq!(parse_pdf_date(date.as_bytes()), Some(1_767_225_600));
        assert_eq!(
            parse_pdf_date(b"D:20260101070000+07'00'"),
            Some(1_767_225_600)
        );
        assert_eq!(parse_pdf_date(b"D:20260101000000Z"), Some(1_767_225_600));
        assert_eq!(parse_pdf_date(b"garbage"), None);
    }

    #[test]
    fn der_length_reads_short_and_long_forms() {
        assert_eq!(der_length(&[0x30, 0x03, 1, 2, 3, 0, 0]), Some(5));
        assert_eq!(der_length(&[0x30, 0x82, 0x01, 0x00]), Some(260));
        assert_eq!(der_length(&[0x30, 0x80]), None);
        assert_eq!(der_length(&[0x30]), None);
    }
}
