//! Bulk matching of an operator's subscriber base against the registry (`POST /v1/telecom/match`).
//!
//! NDJSON in, NDJSON out, streamed both ways: each input line
//! `{"ref", "id_number", "full_name", "date_of_birth"}` is answered, in input order, with
//! `{"ref", "result", "fields"}` (`result`: `match`, `weak_match`, `mismatch`, `not_found` or
//! `deceased`; `fields` only for a living citizen found), a bad line with `{"line", "error"}`
//! (1-based) and the stream goes on. The answer holds match results only, never a value of the
//! registry.
//!
//! **What "match" tolerates.** Names are compared by [`names::compare`], the server's one
//! definition of "the same name" (enrolment uses it too): after Unicode NFC, whitespace folding
//! (leading, trailing and repeated spaces, tabs, no-break spaces) and case folding. Case carries
//! nothing in a Vietnamese name (a card prints `NGUYỄN VĂN AN`, a form `Nguyễn Văn An`: the same
//! letters with the same marks), so it is tolerated; diacritics do carry meaning (`Hà` and `Hạ`
//! are different names), so a name equal only once they are removed (`Nguyen Van An`, how many
//! operator systems stored names) is a `weak_match`, never a `match`. Dates of birth are
//! `YYYY-MM-DD`, as the registry stores them, and match only when equal.
//!
//! **Pipeline.** The request's lines are parsed in batches of [`BATCH`]; each batch is looked up
//! in one statement ([`Store::citizen_identities`]) on its own task while the next batch is
//! read, up to [`IN_FLIGHT`] batches at once; a writer takes the lookups back in input order,
//! compares, and hands each batch's answer to the connection as soon as it is ready. Memory is
//! bounded by those batches, never by the body.
//!
//! **Limits and audit.** Records are counted per operator against
//! `bulk_match.records_per_window` (in the database, so every server process shares the count),
//! taken as batches are looked up in blocks that grow from the first batch's size to 32,000
//! (a few dozen writes for a million records; a request's last block counts whole); past the
//! limit the answer ends with one `{"line", "error"}` naming the first line not matched. A
//! request is audited when it starts and, with its counts, when its stream ends however it
//! ends: completed, client gone (the counts say what was
//! answered), input failed or idle, limit reached.

use std::collections::HashMap;

use bytes::Bytes;
use serde::{
    Deserialize, Deserializer,
    de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor},
};
use serde_json::json;
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_stream::{Stream, StreamExt};

use crate::{
    domain::{
        audit,
        registry::{id_number, names, parse_date, today},
    },
    platform::{clock, config::BulkMatchLimits},
    store::{CitizenIdentity, CitizenStatus, Store, StoreError},
};

/// Records looked up per statement.
pub const BATCH: usize = 2_000;
/// Batches looked up at once (the next ones are read meanwhile).
pub const IN_FLIGHT: usize = 4;
/// Longest `ref` echoed back.
pub const MAX_REF_BYTES: usize = 256;
/// Longest full name, in characters (the registry's limit).
const MAX_NAME_CHARS: usize = 200;
/// A partial batch waits this long for more input before it is looked up anyway.
const FLUSH_AFTER: std::time::Duration = std::time::Duration::from_millis(20);

/// How one field compares with the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldMatch {
    /// The same value (a name up to normalisation form, case and spacing).
    Match,
    /// A name equal only once diacritics are removed.
    WeakMatch,
    /// A different value.
    Mismatch,
}

impl FieldMatch {
    /// The value written in the answer.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Match => "match",
            Self::WeakMatch => "weak_match",
            Self::Mismatch => "mismatch",
        }
    }
}

/// The answer for one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A living citizen with this ID number: how each field compares.
    Found {
        /// The full name.
        full_name: FieldMatch,
        /// The date of birth.
        date_of_birth: FieldMatch,
    },
    /// No citizen has this ID number.
    NotFound,
    /// The citizen with this ID number is registered as deceased.
    Deceased,
}

impl Verdict {
    /// `match` when every field matches, `mismatch` when any does not, else `weak_match`; or
    /// `not_found`, `deceased`.
    pub fn result(self) -> &'static str {
        match self {
            Self::Found {
                full_name,
                date_of_birth,
            } => {
                if full_name == FieldMatch::Mismatch || date_of_birth == FieldMatch::Mismatch {
                    "mismatch"
                } else if full_name == FieldMatch::WeakMatch
                    || date_of_birth == FieldMatch::WeakMatch
                {
                    "weak_match"
                } else {
                    "match"
                }
            }
            Self::NotFound => "not_found",
            Self::Deceased => "deceased",
        }
    }
}

/// Compares a record with the registry's (`None`: no citizen with its ID number).
pub fn compare(record: &Record, registry: Option<&CitizenIdentity>) -> Verdict {
    let Some(citizen) = registry else {
        return Verdict::NotFound;
    };
    if citizen.status == CitizenStatus::Deceased {
        return Verdict::Deceased;
    }
    let full_name = match names::compare(&citizen.full_name, &record.full_name) {
        names::NameMatch::Exact => FieldMatch::Match,
        names::NameMatch::WithoutDiacritics => FieldMatch::WeakMatch,
        names::NameMatch::Mismatch => FieldMatch::Mismatch,
    };
    let date_of_birth = if citizen.date_of_birth.as_bytes() == record.date_of_birth {
        FieldMatch::Match
    } else {
        FieldMatch::Mismatch
    };
    Verdict::Found {
        full_name,
        date_of_birth,
    }
}

// --- Lines ------------------------------------------------------------------------------------

/// Why an input line is not a record. The message is the line's `error`; it never quotes the
/// registry (only, at most, the operator's own input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// Nothing but whitespace.
    #[error("empty line")]
    Empty,
    /// Longer than `bulk_match.max_line_bytes`.
    #[error("line longer than {0} bytes")]
    TooLong(usize),
    /// Not a JSON object.
    #[error("not a JSON object")]
    NotAnObject,
    /// Malformed JSON (the parser's message, which locates the fault).
    #[error("malformed JSON: {0}")]
    Json(String),
    /// A required field is absent or null.
    #[error("missing field `{0}`")]
    Missing(&'static str),
    /// A field of the wrong JSON type.
    #[error("`{field}` must be {expected}, not {found}")]
    Type {
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What it is.
        found: &'static str,
    },
    /// `ref` is longer than [`MAX_REF_BYTES`].
    #[error("`ref` longer than {MAX_REF_BYTES} bytes")]
    RefTooLong,
    /// The ID number is malformed.
    #[error("id_number: {0}")]
    IdNumber(#[from] id_number::IdNumberError),
    /// The name is empty, too long or holds control characters.
    #[error("full_name: 1 to {MAX_NAME_CHARS} characters, no control characters")]
    FullName,
    /// The date of birth is not a real past date written `YYYY-MM-DD`.
    #[error("date_of_birth: expected a past date as YYYY-MM-DD")]
    DateOfBirth,
}

/// A valid input record, owned (it travels between the pipeline's tasks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The operator's `ref`, as JSON text to echo back (a string re-escaped, or an integer).
    pub reference: String,
    /// The ID number (12 digits, a known province).
    pub id_number: String,
    /// The name as given (compared after normalisation).
    pub full_name: String,
    /// `YYYY-MM-DD`, a real past date.
    pub date_of_birth: [u8; 10],
}

/// A field as read: text, an integer, or something else (named for the error).
enum Loose<'a> {
    Text(std::borrow::Cow<'a, str>),
    Integer(String),
    Other(&'static str),
}

impl<'de: 'a, 'a> Deserialize<'de> for Loose<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LooseVisitor;
        impl<'de> Visitor<'de> for LooseVisitor {
            type Value = Loose<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Loose::Text(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Loose::Text(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Loose::Text(std::borrow::Cow::Owned(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Loose::Integer(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Loose::Integer(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Loose::Other("a fractional number"))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Loose::Other("a boolean"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Loose::Other("null"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Loose::Other("an array"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Loose::Other("an object"))
            }
        }
        deserializer.deserialize_any(LooseVisitor)
    }
}

/// One input line as read; other members are ignored, a repeated member refused.
#[derive(Deserialize)]
struct RawLine<'a> {
    #[serde(rename = "ref", borrow, default)]
    reference: Option<Loose<'a>>,
    #[serde(borrow, default)]
    id_number: Option<Loose<'a>>,
    #[serde(borrow, default)]
    full_name: Option<Loose<'a>>,
    #[serde(borrow, default)]
    date_of_birth: Option<Loose<'a>>,
}

fn text<'v>(value: &'v Option<Loose<'_>>, field: &'static str) -> Result<&'v str, LineError> {
    match value {
        None => Err(LineError::Missing(field)),
        Some(Loose::Text(text)) => Ok(text),
        Some(Loose::Integer(_)) => Err(LineError::Type {
            field,
            expected: "a string",
            found: "a number",
        }),
        Some(Loose::Other(found)) => Err(LineError::Type {
            field,
            expected: "a string",
            found,
        }),
    }
}

/// Parses one line (without its line end) into a record. `today` bounds dates of birth.
pub fn parse_line(line: &[u8], today: (u32, u32, u32)) -> Result<Record, LineError> {
    let line = line.trim_ascii();
    match line.first() {
        None => return Err(LineError::Empty),
        Some(b'{') => {}
        Some(_) => return Err(LineError::NotAnObject),
    }
    let raw: RawLine<'_> =
        serde_json::from_slice(line).map_err(|e| LineError::Json(e.to_string()))?;
    let reference = match &raw.reference {
        None => return Err(LineError::Missing("ref")),
        Some(Loose::Integer(number)) => number.clone(),
        Some(Loose::Text(text)) if text.len() > MAX_REF_BYTES => {
            return Err(LineError::RefTooLong);
        }
        Some(Loose::Text(text)) => {
            serde_json::to_string(text.as_ref()).map_err(|e| LineError::Json(e.to_string()))?
        }
        Some(Loose::Other(found)) => {
            return Err(LineError::Type {
                field: "ref",
                expected: "a string or an integer",
                found,
            });
        }
    };
    let id = text(&raw.id_number, "id_number")?.trim();
    id_number::check_format(id)?;
    let full_name = text(&raw.full_name, "full_name")?;
    let trimmed = full_name.trim();
    if trimmed.is_empty()
        || trimmed.chars().count() > MAX_NAME_CHARS
        || trimmed.chars().any(char::is_control)
    {
        return Err(LineError::FullName);
    }
    let date = text(&raw.date_of_birth, "date_of_birth")?.trim();
    parse_date(date, today).ok_or(LineError::DateOfBirth)?;
    let date_of_birth: [u8; 10] = date
        .as_bytes()
        .try_into()
        .map_err(|_| LineError::DateOfBirth)?;
    Ok(Record {
        reference,
        id_number: id.to_owned(),
        full_name: full_name.to_owned(),
        date_of_birth,
    })
}

/// Splits a byte stream into lines (`\n`, an optional `\r` before it dropped), numbered from 1,
/// holding at most `max` bytes of a line: a longer line is reported as such, its bytes skipped
/// up to its end, never buffered whole.
#[derive(Debug)]
pub struct LineSplitter {
    partial: Vec<u8>,
    max: usize,
    line: u64,
    overlong: bool,
}

impl LineSplitter {
    /// A splitter for lines of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            partial: Vec::new(),
            max,
            line: 0,
            overlong: false,
        }
    }

    /// The number of the last line emitted (0 before any).
    pub fn lines(&self) -> u64 {
        self.line
    }

    /// Feeds a chunk; `emit` gets each complete line: its number and its bytes, or
    /// [`LineError::TooLong`].
    pub fn push(&mut self, mut chunk: &[u8], mut emit: impl FnMut(u64, Result<&[u8], LineError>)) {
        while let Some(end) = memchr::memchr(b'\n', chunk) {
            let (head, rest) = (&chunk[..end], &chunk[end + 1..]);
            chunk = rest;
            self.line += 1;
            if self.overlong || self.partial.len() + head.len() > self.max + 1 {
                // (`+ 1`: room for a `\r` before the `\n`.)
                self.overlong = false;
                self.partial.clear();
                emit(self.line, Err(LineError::TooLong(self.max)));
            } else if self.partial.is_empty() {
                emit(self.line, self.checked(head));
            } else {
                self.partial.extend_from_slice(head);
                let line = std::mem::take(&mut self.partial);
                emit(self.line, self.checked(&line));
                self.partial = line;
                self.partial.clear();
            }
        }
        if self.overlong {
            return;
        }
        if self.partial.len() + chunk.len() > self.max + 1 {
            self.overlong = true;
            self.partial = Vec::new();
        } else {
            self.partial.extend_from_slice(chunk);
        }
    }

    /// The line without its `\r`, unless it is longer than the limit.
    fn checked<'l>(&self, line: &'l [u8]) -> Result<&'l [u8], LineError> {
        let line = strip_cr(line);
        if line.len() > self.max {
            Err(LineError::TooLong(self.max))
        } else {
            Ok(line)
        }
    }

    /// Ends the input: a last line without a line end is emitted too.
    pub fn finish(&mut self, mut emit: impl FnMut(u64, Result<&[u8], LineError>)) {
        if self.overlong {
            self.overlong = false;
            self.line += 1;
            emit(self.line, Err(LineError::TooLong(self.max)));
        } else if !self.partial.is_empty() {
            self.line += 1;
            let partial = std::mem::take(&mut self.partial);
            emit(self.line, self.checked(&partial));
        }
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

// --- Answers ------------------------------------------------------------------------------------

/// Appends the answer line of a record.
pub fn write_answer(out: &mut Vec<u8>, reference: &str, verdict: Verdict) {
    out.extend_from_slice(b"{\"ref\":");
    out.extend_from_slice(reference.as_bytes());
    out.extend_from_slice(b",\"result\":\"");
    out.extend_from_slice(verdict.result().as_bytes());
    out.push(b'"');
    if let Verdict::Found {
        full_name,
        date_of_birth,
    } = verdict
    {
        out.extend_from_slice(b",\"fields\":{\"full_name\":\"");
        out.extend_from_slice(full_name.as_str().as_bytes());
        out.extend_from_slice(b"\",\"date_of_birth\":\"");
        out.extend_from_slice(date_of_birth.as_str().as_bytes());
        out.extend_from_slice(b"\"}");
    }
    out.extend_from_slice(b"}\n");
}

/// Appends the answer line of a bad line: `{"line": n, "error": "..."}`.
pub fn write_error(out: &mut Vec<u8>, line: u64, error: &str) {
    let value = json!({ "line": line, "error": error });
    out.extend_from_slice(value.to_string().as_bytes());
    out.push(b'\n');
}

// --- The request --------------------------------------------------------------------------------

/// Why a match request is refused before its stream starts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MatchError {
    /// The operator's allowance for the window is used up.
    #[error(
        "at most {limit} records per {window} seconds for one operator; retry in {retry_after} s"
    )]
    RateLimited {
        /// Records per window.
        limit: i64,
        /// The window, seconds.
        window: i64,
        /// Seconds until the next window.
        retry_after: i64,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a match request's stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// Every line was answered.
    Completed,
    /// The client went away before the end of the answer.
    ClientGone,
    /// Reading the request body failed (e.g. the upload was cut).
    InputFailed,
    /// No input came for `bulk_match.idle_timeout_seconds`.
    InputIdle,
    /// The operator's records per window ran out.
    RateLimited,
    /// A lookup failed.
    StoreFailed,
}

impl Completion {
    /// The name recorded in the audit log.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::ClientGone => "client_gone",
            Self::InputFailed => "input_failed",
            Self::InputIdle => "input_idle",
            Self::RateLimited => "rate_limited",
            Self::StoreFailed => "store_failed",
        }
    }
}

/// What a request did: lines read, answers handed to the connection by kind, how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Input lines read (numbered), answered or not.
    pub lines: u64,
    /// Answers `match`.
    pub matched: u64,
    /// Answers `weak_match`.
    pub weak_match: u64,
    /// Answers `mismatch`.
    pub mismatch: u64,
    /// Answers `not_found`.
    pub not_found: u64,
    /// Answers `deceased`.
    pub deceased: u64,
    /// Bad lines answered with their error.
    pub errors: u64,
    /// How the stream ended.
    pub completion: Completion,
}

impl Summary {
    fn new() -> Self {
        Self {
            lines: 0,
            matched: 0,
            weak_match: 0,
            mismatch: 0,
            not_found: 0,
            deceased: 0,
            errors: 0,
            completion: Completion::Completed,
        }
    }

    /// Records answered (bad lines not included).
    pub fn answered(&self) -> u64 {
        self.matched + self.weak_match + self.mismatch + self.not_found + self.deceased
    }

    fn count(&mut self, verdict: Verdict) {
        match verdict.result() {
            "match" => self.matched += 1,
            "weak_match" => self.weak_match += 1,
            "mismatch" => self.mismatch += 1,
            "not_found" => self.not_found += 1,
            _ => self.deceased += 1,
        }
    }
}

/// The operator a request is for, as authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// Its relying-party id: the audit subject, and whose allowance records count against.
    pub id: String,
    /// The audit actor (`rp:<id>`, [`crate::domain::telecom::actor`]).
    pub actor: String,
}

/// The rate-limit key of an operator's records.
fn allowance_key(operator: &Operator) -> String {
    format!("telecom-match:{}", operator.id)
}

fn retry_after(limits: &BulkMatchLimits, now: i64) -> i64 {
    limits.window_seconds - now.rem_euclid(limits.window_seconds)
}

/// Admits a request and audits its start: refused when the operator has no record left in the
/// current window (nothing is taken: records are counted as they are looked up).
pub async fn admit(
    store: &Store,
    limits: &BulkMatchLimits,
    operator: &Operator,
) -> Result<(), MatchError> {
    let now = clock::now();
    let left = store
        .take_allowance(
            &allowance_key(operator),
            now,
            limits.window_seconds,
            0,
            limits.records_per_window - 1,
        )
        .await?;
    if left.is_none() {
        return Err(MatchError::RateLimited {
            limit: limits.records_per_window,
            window: limits.window_seconds,
            retry_after: retry_after(limits, now),
        });
    }
    store
        .append_audit(&audit::event(
            &operator.actor,
            "telecom.match.started",
            &operator.id,
            json!({}),
        ))
        .await?;
    Ok(())
}

/// Records the end of a request with its counts.
pub async fn audit_end(
    store: &Store,
    operator: &Operator,
    summary: &Summary,
) -> Result<(), StoreError> {
    store
        .append_audit(&audit::event(
            &operator.actor,
            "telecom.match.finished",
            &operator.id,
            json!({
                "lines": summary.lines,
                "match": summary.matched,
                "weak_match": summary.weak_match,
                "mismatch": summary.mismatch,
                "not_found": summary.not_found,
                "deceased": summary.deceased,
                "errors": summary.errors,
                "completion": summary.completion.as_str(),
            }),
        ))
        .await
}

/// One input line in a batch: a record, or a bad line with its error.
enum Item {
    Record { line: u64, record: Record },
    Bad { line: u64, error: String },
}

/// Why a batch's lookup gave no rows.
enum LookupFailure {
    RateLimited { retry_after: i64 },
    Store(StoreError),
}

/// A batch on its way to the writer, with its lookup running.
struct Pending {
    items: Vec<Item>,
    lookup: Option<JoinHandle<Result<Vec<CitizenIdentity>, LookupFailure>>>,
    /// The input stopped here for this reason (a last answer line is in `items`).
    stop: Option<Completion>,
}

/// The answer's chunks as they become ready; an `Err` aborts the answer (the client then sees a
/// cut response, never a complete one).
pub type Answer = mpsc::Receiver<Result<Bytes, std::io::Error>>;

/// Starts a match request: admits it ([`admit`]: limit, audit of the start), then answers
/// `input` (the request body's chunks) on its own task, and audits the end with the counts
/// ([`audit_end`]) before the answer ends, whether the input ended, failed or went idle, or the
/// client went away. If that audit fails the answer is aborted.
pub async fn start<S, E>(
    store: &Store,
    limits: &BulkMatchLimits,
    operator: &Operator,
    input: S,
) -> Result<Answer, MatchError>
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: std::fmt::Display + Send + 'static,
{
    admit(store, limits, operator).await?;
    let (output, answer) = mpsc::channel(2);
    let (store, limits, operator) = (store.clone(), limits.clone(), operator.clone());
    tokio::spawn(async move {
        let summary = run(
            store.clone(),
            limits,
            operator.clone(),
            input,
            output.clone(),
        )
        .await;
        if let Err(error) = audit_end(&store, &operator, &summary).await {
            tracing::error!(%error, "bulk match: the end of a request could not be audited");
            let _ = output
                .send(Err(std::io::Error::other(
                    "the request could not be audited",
                )))
                .await;
        }
    });
    Ok(answer)
}

/// Answers `input` (the request body's chunks) on `output`, then returns what was done (the
/// caller audits it: [`start`] does).
pub async fn run<S, E>(
    store: Store,
    limits: BulkMatchLimits,
    operator: Operator,
    input: S,
    output: mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Summary
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let (pending_tx, pending_rx) = mpsc::channel::<Pending>(IN_FLIGHT);
    let writer = tokio::spawn(write_answers(pending_rx, output));
    let lines = read_batches(store, limits, operator, input, pending_tx).await;
    let mut summary = match writer.await {
        Ok(summary) => summary,
        Err(error) => {
            tracing::error!(%error, "bulk match writer failed");
            Summary {
                completion: Completion::StoreFailed,
                ..Summary::new()
            }
        }
    };
    summary.lines = lines;
    summary
}

/// The reader: splits and parses lines into batches and starts each batch's lookup. Returns the
/// number of lines read.
async fn read_batches<S, E>(
    store: Store,
    limits: BulkMatchLimits,
    operator: Operator,
    mut input: S,
    pending: mpsc::Sender<Pending>,
) -> u64
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let today = today();
    let idle = std::time::Duration::from_secs(limits.idle_timeout_seconds);
    let mut allowance = Allowance {
        store: store.clone(),
        key: allowance_key(&operator),
        limits: limits.clone(),
        granted: 0,
        next_block: 0,
    };
    let mut splitter = LineSplitter::new(limits.max_line_bytes);
    let mut batch = Batch::default();
    loop {
        // A partial batch is looked up if no more input comes soon (answers flow while a slow
        // client is still sending); past the idle time the request ends.
        let wait = if batch.items.is_empty() {
            idle
        } else {
            FLUSH_AFTER
        };
        let next = tokio::select! {
            next = tokio::time::timeout(wait, input.next()) => next,
            () = pending.closed() => break,
        };
        let stop = match next {
            Err(_) if !batch.items.is_empty() => {
                let ready = dispatch(std::mem::take(&mut batch), None, &mut allowance).await;
                if pending.send(ready).await.is_err() {
                    break;
                }
                continue;
            }
            Err(_) => {
                let line = splitter.lines() + 1;
                batch.items.push(Item::Bad {
                    line,
                    error: format!(
                        "no input for {} s: stopped before this line",
                        limits.idle_timeout_seconds
                    ),
                });
                Some(Completion::InputIdle)
            }
            Ok(None) => {
                splitter.finish(|line, bytes| batch.push(line, bytes, today));
                None
            }
            Ok(Some(Err(error))) => {
                tracing::info!(%error, "bulk match: request body failed");
                Some(Completion::InputFailed)
            }
            Ok(Some(Ok(chunk))) => {
                let mut full = Vec::new();
                splitter.push(&chunk, |line, bytes| {
                    batch.push(line, bytes, today);
                    if batch.full() {
                        full.push(std::mem::take(&mut batch));
                    }
                });
                for ready in full {
                    let ready = dispatch(ready, None, &mut allowance).await;
                    if pending.send(ready).await.is_err() {
                        return splitter.lines();
                    }
                }
                continue;
            }
        };
        // The end of the input, for whichever reason.
        let last = dispatch(
            std::mem::take(&mut batch),
            stop.or(Some(Completion::Completed)),
            &mut allowance,
        )
        .await;
        let _ = pending.send(last).await;
        break;
    }
    splitter.lines()
}

/// Takes a batch's records from the operator's allowance and starts its lookup.
async fn dispatch(batch: Batch, stop: Option<Completion>, allowance: &mut Allowance) -> Pending {
    let lookup = if batch.ids.is_empty() {
        None
    } else {
        let outcome = allowance.take(batch.ids.len() as i64).await;
        let store = allowance.store.clone();
        let ids = batch.ids;
        Some(tokio::spawn(async move {
            outcome?;
            store
                .citizen_identities(&ids)
                .await
                .map_err(LookupFailure::Store)
        }))
    };
    Pending {
        items: batch.items,
        lookup,
        stop,
    }
}

/// Largest block of records taken from an operator's allowance at once.
const MAX_BLOCK: i64 = 32_000;

/// The records a request has taken from its operator's allowance (in the database, shared by
/// every request and server process) and not used yet. Records are taken in blocks: the first
/// exactly what the first batch needs (a request of one batch counts exactly its records), then
/// doubling up to [`MAX_BLOCK`], so that a large request writes a few dozen times, not once per
/// batch; a request's last block counts whole (at most `MAX_BLOCK - 1` records more than it
/// matched).
struct Allowance {
    store: Store,
    key: String,
    limits: BulkMatchLimits,
    granted: i64,
    next_block: i64,
}

impl Allowance {
    async fn take(&mut self, records: i64) -> Result<(), LookupFailure> {
        if self.granted < records {
            let limit = self.limits.records_per_window;
            let amount = (records - self.granted).max(self.next_block).min(limit);
            let now = clock::now();
            let taken = self
                .store
                .take_allowance(&self.key, now, self.limits.window_seconds, amount, limit)
                .await
                .map_err(LookupFailure::Store)?;
            if taken.is_none() || self.granted + amount < records {
                return Err(LookupFailure::RateLimited {
                    retry_after: retry_after(&self.limits, now),
                });
            }
            self.granted += amount;
            self.next_block = (2 * amount.max(BATCH as i64)).min(MAX_BLOCK);
        }
        self.granted -= records;
        Ok(())
    }
}

/// The batch being filled.
#[derive(Default)]
struct Batch {
    items: Vec<Item>,
    ids: Vec<String>,
}

impl Batch {
    fn push(&mut self, line: u64, bytes: Result<&[u8], LineError>, today: (u32, u32, u32)) {
        match bytes.and_then(|bytes| parse_line(bytes, today)) {
            Ok(record) => {
                self.ids.push(record.id_number.clone());
                self.items.push(Item::Record { line, record });
            }
            Err(error) => self.items.push(Item::Bad {
                line,
                error: error.to_string(),
            }),
        }
    }

    /// Enough records for a lookup, or many bad lines (memory stays bounded either way).
    fn full(&self) -> bool {
        self.ids.len() >= BATCH || self.items.len() >= 4 * BATCH
    }
}

/// The writer: takes the batches back in input order, compares, and hands each batch's answer
/// to the connection.
async fn write_answers(
    mut pending: mpsc::Receiver<Pending>,
    output: mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Summary {
    let mut summary = Summary::new();
    let mut stopped = None;
    while let Some(batch) = pending.recv().await {
        let rows = match batch.lookup {
            None => Ok(Vec::new()),
            Some(handle) => match handle.await {
                Ok(rows) => rows,
                Err(error) => Err(LookupFailure::Store(StoreError::Corrupt(
                    if error.is_panic() {
                        "lookup task panicked"
                    } else {
                        "lookup task cancelled"
                    },
                ))),
            },
        };
        let mut out = Vec::with_capacity(batch.items.len() * 96);
        let mut failure = None;
        match rows {
            Ok(rows) => {
                let found: HashMap<&str, &CitizenIdentity> =
                    rows.iter().map(|c| (c.id_number.as_str(), c)).collect();
                for item in &batch.items {
                    match item {
                        Item::Record { record, .. } => {
                            let verdict =
                                compare(record, found.get(record.id_number.as_str()).copied());
                            summary.count(verdict);
                            write_answer(&mut out, &record.reference, verdict);
                        }
                        Item::Bad { line, error } => {
                            summary.errors += 1;
                            write_error(&mut out, *line, error);
                        }
                    }
                }
            }
            Err(error) => {
                // The bad lines before the batch's first record are answered; the answer then
                // names the first line not matched, and ends.
                for item in &batch.items {
                    match item {
                        Item::Bad { line, error } => {
                            summary.errors += 1;
                            write_error(&mut out, *line, error);
                        }
                        Item::Record { line, .. } => {
                            let (message, completion) = match &error {
                                LookupFailure::RateLimited { retry_after } => (
                                    format!(
                                        "rate limited: the operator's records per window are used up; \
                                         this line and those after it were not matched; retry in {retry_after} s"
                                    ),
                                    Completion::RateLimited,
                                ),
                                LookupFailure::Store(store_error) => {
                                    tracing::error!(error = %store_error, "bulk match lookup failed");
                                    (
                                        "internal error: this line and those after it were not matched"
                                            .to_owned(),
                                        Completion::StoreFailed,
                                    )
                                }
                            };
                            write_error(&mut out, *line, &message);
                            failure = Some(completion);
                            break;
                        }
                    }
                }
            }
        }
        if !out.is_empty() && output.send(Ok(Bytes::from(out))).await.is_err() {
            stopped = Some(Completion::ClientGone);
            break;
        }
        if let Some(completion) = failure.or(batch.stop) {
            stopped = Some(completion);
            break;
        }
    }
    summary.completion = stopped.unwrap_or(Completion::ClientGone);
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: (u32, u32, u32) = (2026, 12, 1);

    fn record(line: &str) -> Result<Record, LineError> {
        parse_line(line.as_bytes(), TODAY)
    }

    fn identity(name: &str, date: &str, status: CitizenStatus) -> CitizenIdentity {
        CitizenIdentity {
            id_number: "001090012345".into(),
            full_name: name.into(),
            date_of_birth: date.into(),
            status,
        }
    }

    const GOOD: &str = r#"{"ref":"a-1","id_number":"001090012345","full_name":"Nguyễn Văn An","date_of_birth":"1990-02-28"}"#;

    #[test]
    fn parses_a_record() {
        let r = record(GOOD).unwrap();
        assert_eq!(r.reference, "\"a-1\"");
        assert_eq!(r.id_number, "001090012345");
        assert_eq!(&r.date_of_birth, b"1990-02-28");
        let numbered = record(&GOOD.replace("\"a-1\"", "42")).unwrap();
        assert_eq!(numbered.reference, "42");
        let escaped = record(&GOOD.replace("\"a-1\"", r#""x\"y\u00e9""#)).unwrap();
        assert_eq!(escaped.reference, "\"x\\\"yé\"");
    }

    #[test]
    fn refuses_bad_lines_with_a_reason() {
        let cases: Vec<(String, LineError)> = vec![
            ("".into(), LineError::Empty),
            ("   \t".into(), LineError::Empty),
            ("[1,2,3,4]".into(), LineError::NotAnObject),
            ("\"text\"".into(), LineError::NotAnObject),
            (
                GOOD.replace("\"ref\":\"a-1\",", ""),
                LineError::Missing("ref"),
            ),
            (GOOD.replace("\"a-1\"", "null"), LineError::Missing("ref")),
            (
                GOOD.replace("\"a-1\"", "true"),
                LineError::Type {
                    field: "ref",
                    expected: "a string or an integer",
                    found: "a boolean",
                },
            ),
            (
                GOOD.replace("\"001090012345\"", "1090012345"),
                LineError::Type {
                    field: "id_number",
                    expected: "a string",
                    found: "a number",
                },
            ),
            (
                GOOD.replace("\"Nguyễn Văn An\"", "[\"Nguyễn\"]"),
                LineError::Type {
                    field: "full_name",
                    expected: "a string",
                    found: "an array",
                },
            ),
            (
                GOOD.replace("001090012345", "00109001234"),
                LineError::IdNumber(id_number::IdNumberError::Format),
            ),
            (GOOD.replace("Nguyễn Văn An", "  "), LineError::FullName),
            (
                GOOD.replace("Nguyễn Văn An", "An\\u0007"),
                LineError::FullName,
            ),
            (
                GOOD.replace("1990-02-28", "1990-02-30"),
                LineError::DateOfBirth,
            ),
            (
                GOOD.replace("1990-02-28", "28/02/1990"),
                LineError::DateOfBirth,
            ),
            (
                GOOD.replace("1990-02-28", "2090-02-28"),
                LineError::DateOfBirth,
            ),
            (
                GOOD.replace("\"a-1\"", &format!("\"{}\"", "r".repeat(MAX_REF_BYTES + 1))),
                LineError::RefTooLong,
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(record(&line), Err(expected), "{line}");
        }
        assert!(matches!(record("{\"ref\":1,"), Err(LineError::Json(_))));
        assert!(matches!(record("{not json}"), Err(LineError::Json(_))));
        // One member twice: refused, not read one way here and another way elsewhere.
        let twice = GOOD.replace("\"ref\":\"a-1\",", "\"ref\":\"a-1\",\"ref\":\"b\",");
        assert!(matches!(record(&twice), Err(LineError::Json(_))));
        // Other members are ignored, whatever they hold.
        let extra = GOOD.replace("\"ref\"", "\"msisdn\":[1,{\"a\":null}],\"ref\"");
        assert!(record(&extra).is_ok());
    }

    #[test]
    fn verdicts() {
        let r = record(GOOD).unwrap();
        let living = |name: &str, date: &str| identity(name, date, CitizenStatus::Living);
        let found = |name, date| Verdict::Found {
            full_name: name,
            date_of_birth: date,
        };
        use FieldMatch::{Match, Mismatch, WeakMatch};
        let cases = [
            (
                living("Nguyễn Văn An", "1990-02-28"),
                found(Match, Match),
                "match",
            ),
            (
                living("NGUYỄN VĂN AN", "1990-02-28"),
                found(Match, Match),
                "match",
            ),
            (
                living("Nguyen Van An", "1990-02-28"),
                found(WeakMatch, Match),
                "weak_match",
            ),
            (
                living("Nguyễn Văn Anh", "1990-02-28"),
                found(Mismatch, Match),
                "mismatch",
            ),
            (
                living("Nguyễn Văn An", "1990-02-27"),
                found(Match, Mismatch),
                "mismatch",
            ),
            (
                living("Nguyen Van An", "1991-02-28"),
                found(WeakMatch, Mismatch),
                "mismatch",
            ),
        ];
        for (citizen, verdict, result) in cases {
            let got = compare(&r, Some(&citizen));
            assert_eq!(got, verdict, "{citizen:?}");
            assert_eq!(got.result(), result);
        }
        assert_eq!(compare(&r, None), Verdict::NotFound);
        assert_eq!(compare(&r, None).result(), "not_found");
        let dead = identity("Nguyễn Văn An", "1990-02-28", CitizenStatus::Deceased);
        assert_eq!(compare(&r, Some(&dead)).result(), "deceased");
    }

    #[test]
    fn answers_carry_results_only() {
        let mut out = Vec::new();
        write_answer(
            &mut out,
            "\"a-1\"",
            Verdict::Found {
                full_name: FieldMatch::WeakMatch,
                date_of_birth: FieldMatch::Match,
            },
        );
        write_answer(&mut out, "7", Verdict::Deceased);
        write_error(&mut out, 3, "empty line");
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines[0],
            json!({"ref": "a-1", "result": "weak_match",
                   "fields": {"full_name": "weak_match", "date_of_birth": "match"}})
        );
        assert_eq!(lines[1], json!({"ref": 7, "result": "deceased"}));
        assert_eq!(lines[2], json!({"line": 3, "error": "empty line"}));
    }

    fn split(chunks: &[&[u8]], max: usize) -> Vec<(u64, Result<Vec<u8>, LineError>)> {
        let mut splitter = LineSplitter::new(max);
        let mut out = Vec::new();
        for chunk in chunks {
            splitter.push(chunk, |n, l| out.push((n, l.map(<[u8]>::to_vec))));
        }
        splitter.finish(|n, l| out.push((n, l.map(<[u8]>::to_vec))));
        out
    }

    #[test]
    fn splits_lines_across_chunks() {
        let got = split(&[b"ab", b"c\r\nd", b"ef\n\n", b"last"], 16);
        assert_eq!(
            got,
            vec![
                (1, Ok(b"abc".to_vec())),
                (2, Ok(b"def".to_vec())),
                (3, Ok(b"".to_vec())),
                (4, Ok(b"last".to_vec())),
            ]
        );
        // A final line end ends the last line: no empty line after it.
        assert_eq!(split(&[b"a\n"], 16), vec![(1, Ok(b"a".to_vec()))]);
    }

    #[test]
    fn overlong_lines_are_reported_and_skipped() {
        let long = vec![b'x'; 40];
        let got = split(&[b"ok\n", &long[..20], &long[20..], b"\nnext\n", &long], 16);
        assert_eq!(
            got,
            vec![
                (1, Ok(b"ok".to_vec())),
                (2, Err(LineError::TooLong(16))),
                (3, Ok(b"next".to_vec())),
                (4, Err(LineError::TooLong(16))),
            ]
        );
        // Exactly the limit (plus a `\r`) is fine.
        let exact = [vec![b'y'; 16], b"\r\n".to_vec()].concat();
        assert_eq!(split(&[&exact], 16), vec![(1, Ok(vec![b'y'; 16]))]);
    }
}
