//! Matching a presented name against the registry's.
//!
//! Names compare after Unicode NFC, lower-casing and whitespace folding. A name that matches only
//! once diacritics are removed (the MRZ of an ID card writes "NGUYEN VAN AN" for "Nguyễn Văn An")
//! is a weaker match, reported as such, never silently equal.

use unicode_normalization::{
    IsNormalized, UnicodeNormalization, char::is_combining_mark, is_nfc_quick,
};

/// How a presented name relates to the registry's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameMatch {
    /// The same name, up to normalisation form, case and spacing.
    Exact,
    /// The same letters once diacritics are removed: e.g. a name read from an MRZ.
    WithoutDiacritics,
    /// A different name.
    Mismatch,
}

/// Canonical form of a name for storage: NFC, trimmed, inner whitespace collapsed to one space.
pub fn canonical(name: &str) -> String {
    // Most input is canonical already (a registry export): check cheaply before rebuilding.
    if is_nfc_quick(name.chars()) == IsNormalized::Yes && is_single_spaced(name) {
        return name.to_owned();
    }
    let nfc: String = name.nfc().collect();
    nfc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// No leading, trailing or repeated whitespace, and no whitespace other than U+0020.
fn is_single_spaced(s: &str) -> bool {
    let mut previous_space = true;
    for c in s.chars() {
        let space = c.is_whitespace();
        if space && (previous_space || c != ' ') {
            return false;
        }
        previous_space = space;
    }
    !previous_space || s.is_empty()
}

fn folded(name: &str) -> String {
    canonical(name).to_lowercase()
}

fn without_diacritics(name: &str) -> String {
    folded(name)
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| if c == 'đ' { 'd' } else { c })
        .collect()
}

/// Compares a presented name with the registry's.
pub fn compare(registry: &str, presented: &str) -> NameMatch {
    // The common case (a name copied from the registry's own form) costs no allocation.
    if registry == presented || folded(registry) == folded(presented) {
        NameMatch::Exact
    } else if without_diacritics(registry) == without_diacritics(presented) {
        NameMatch::WithoutDiacritics
    } else {
        NameMatch::Mismatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_case_and_spacing_are_exact() {
        let nfd: String = "Nguyễn Văn An".nfd().collect();
        assert_eq!(compare("Nguyễn Văn An", &nfd), NameMatch::Exact);
        assert_eq!(
            compare("Nguyễn Văn An", "  nguyễn   VĂN an "),
            NameMatch::Exact
        );
    }

    #[test]
    fn mrz_form_is_weaker() {
        assert_eq!(
            compare("Nguyễn Văn An", "NGUYEN VAN AN"),
            NameMatch::WithoutDiacritics
        );
        assert_eq!(
            compare("Đặng Thị Hương", "DANG THI HUONG"),
            NameMatch::WithoutDiacritics
        );
    }

    #[test]
    fn different_names_do_not_match() {
        assert_eq!(
            compare("Nguyễn Văn An", "Nguyễn Văn Anh"),
            NameMatch::Mismatch
        );
        assert_eq!(
            compare("Lê Thị Hà", "Lê Thị Hạ"),
            NameMatch::WithoutDiacritics
        );
    }

    #[test]
    fn spacing() {
        assert!(is_single_spaced("Trần Thị Thu"));
        assert!(is_single_spaced(""));
        for s in [" A", "A ", "A  B", "A\tB", "A\u{a0}B", " "] {
            assert!(!is_single_spaced(s), "{s:?}");
            assert_eq!(
                canonical(s),
                s.split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }
    }

    #[test]
    fn canonical_form() {
        let nfd: String = "Trần  Thị\tThu ".nfd().collect();
        assert_eq!(canonical(&nfd), "Trần Thị Thu");
    }
}
