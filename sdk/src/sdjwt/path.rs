use std::fmt;

use super::SdJwtError;

/// The path of a claim from the root of the claims object: object member names and array indexes,
/// written like a JSON pointer (`/address/street_address`, `/nationalities/0`).
///
/// Segments are kept as text; a segment selects an array element when it is a canonical decimal
/// index and the value at that point is an array.
#[derive(Clone)]
pub struct ClaimPath(Segments);

/// Most paths a verifier reports are one claim name deep: those keep their name inline, without a
/// vector around it (one allocation per disclosed claim instead of two).
#[derive(Clone)]
enum Segments {
    One(String),
    Many(Vec<String>),
}

impl ClaimPath {
    /// The empty path (the claims object itself).
    pub fn root() -> Self {
        Self(Segments::Many(Vec::new()))
    }

    /// Parses JSON-pointer syntax (RFC 6901): `/a/b`, with `~1` for `/` and `~0` for `~`.
    pub fn parse(pointer: &str) -> Result<Self, SdJwtError> {
        let invalid = || SdJwtError::InvalidPath(pointer.to_owned());
        let Some(rest) = pointer.strip_prefix('/') else {
            return Err(invalid());
        };
        let mut segments = Vec::new();
        for raw in rest.split('/') {
            let mut segment = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c == '~' {
                    match chars.next() {
                        Some('0') => segment.push('~'),
                        Some('1') => segment.push('/'),
                        _ => return Err(invalid()),
                    }
                } else {
                    segment.push(c);
                }
            }
            segments.push(segment);
        }
        Ok(Self::from_segments(segments))
    }

    /// Parses a comma-separated list of pointers (the CLI's `--sd` and `--disclose` form).
    pub fn parse_list(list: &str) -> Result<Vec<Self>, SdJwtError> {
        list.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(Self::parse)
            .collect()
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> &[String] {
        match &self.0 {
            Segments::One(segment) => std::slice::from_ref(segment),
            Segments::Many(segments) => segments,
        }
    }

    /// This path extended by one segment.
    pub fn child(&self, segment: impl Into<String>) -> Self {
        let parent = self.segments();
        if parent.is_empty() {
            return Self::one(segment.into());
        }
        let mut segments = Vec::with_capacity(parent.len() + 1);
        segments.extend_from_slice(parent);
        segments.push(segment.into());
        Self(Segments::Many(segments))
    }

    /// The path of one top-level claim.
    pub(crate) fn one(name: String) -> Self {
        Self(Segments::One(name))
    }

    /// A path from its segments, outermost first.
    pub(crate) fn from_segments(mut segments: Vec<String>) -> Self {
        match segments.pop() {
            Some(only) if segments.is_empty() => Self::one(only),
            Some(last) => {
                segments.push(last);
                Self(Segments::Many(segments))
            }
            None => Self::root(),
        }
    }

    /// Whether `self` is `other` or one of its ancestors.
    pub fn is_prefix_of(&self, other: &ClaimPath) -> bool {
        other.segments().starts_with(self.segments())
    }

    /// The value at this path in `claims`, if any.
    pub fn lookup<'v>(&self, claims: &'v serde_json::Value) -> Option<&'v serde_json::Value> {
        lookup_from(claims, self.segments())
    }

    /// The value at this path in a claims object, if any (the empty path names nothing).
    pub fn lookup_in<'v>(
        &self,
        claims: &'v serde_json::Map<String, serde_json::Value>,
    ) -> Option<&'v serde_json::Value> {
        let (first, rest) = self.segments().split_first()?;
        lookup_from(claims.get(first)?, rest)
    }
}

fn lookup_from<'v>(
    value: &'v serde_json::Value,
    segments: &[String],
) -> Option<&'v serde_json::Value> {
    {
        segments
            .iter()
            .try_fold(value, |value, segment| match value {
                serde_json::Value::Object(map) => map.get(segment),
                serde_json::Value::Array(items) => array_index(segment).and_then(|i| items.get(i)),
                _ => None,
            })
    }
}

/// A canonical decimal array index ("0", "17"; not "01", "+1" or "-0").
pub(crate) fn array_index(segment: &str) -> Option<usize> {
    if segment.is_empty() || (segment.len() > 1 && segment.starts_with('0')) {
        return None;
    }
    if !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for segment in self.segments() {
            f.write_str("/")?;
            for c in segment.chars() {
                match c {
                    '~' => f.write_str("~0")?,
                    '/' => f.write_str("~1")?,
                    c => fmt::Write::write_char(f, c)?,
                }
            }
        }
        Ok(())
    }
}

// Equality, order and hashing are those of the segments, whichever form holds them.
impl PartialEq for ClaimPath {
    fn eq(&self, other: &Self) -> bool {
        self.segments() == other.segments()
    }
}

impl Eq for ClaimPath {}

impl PartialOrd for ClaimPath {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ClaimPath {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.segments().cmp(other.segments())
    }
}

impl std::hash::Hash for ClaimPath {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.segments().hash(state);
    }
}

impl Default for ClaimPath {
    fn default() -> Self {
        Self::root()
    }
}

impl fmt::Debug for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClaimPath").field(&self.segments()).finish()
    }
}

impl std::str::FromStr for ClaimPath {
    type Err = SdJwtError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for ClaimPath {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pointer_round_trip() {
        for text in ["/a", "/a/b", "/nationalities/0", "/a~1b/c~0d", "/"] {
            assert_eq!(ClaimPath::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(ClaimPath::parse("/a~1b").unwrap().segments(), ["a/b"]);
        for bad in ["", "a", "/a~", "/a~2"] {
            assert!(ClaimPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lookup_and_prefix() {
        let claims = json!({"a": {"b": [10, {"c": true}]}});
        let path = ClaimPath::parse("/a/b/1/c").unwrap();
        assert_eq!(path.lookup(&claims), Some(&json!(true)));
        assert_eq!(ClaimPath::parse("/a/b/01").unwrap().lookup(&claims), None);
        assert!(ClaimPath::parse("/a").unwrap().is_prefix_of(&path));
        assert!(!path.is_prefix_of(&ClaimPath::parse("/a").unwrap()));
        assert_eq!(ClaimPath::parse_list("/a, /b,").unwrap().len(), 2);
    }

    #[test]
    fn one_segment_paths_equal_their_vector_form() {
        use std::collections::HashSet;
        let inline = ClaimPath::root().child("a");
        let built = ClaimPath::from_segments(vec!["a".into()]);
        let parsed = ClaimPath::parse("/a").unwrap();
        assert!(matches!(inline.0, Segments::One(_)));
        assert_eq!(inline, built);
        assert_eq!(inline, parsed);
        assert_eq!(inline.cmp(&parsed), std::cmp::Ordering::Equal);
        assert_eq!(HashSet::from([inline.clone(), built, parsed]).len(), 1);
        let deeper = inline.child("b");
        assert_eq!(deeper, ClaimPath::parse("/a/b").unwrap());
        assert!(inline.is_prefix_of(&deeper) && ClaimPath::root().is_prefix_of(&inline));
        assert!(inline < deeper && ClaimPath::root() < inline);
        assert_eq!(ClaimPath::root().to_string(), "");
        assert_eq!(ClaimPath::default(), ClaimPath::from_segments(Vec::new()));
    }
}
