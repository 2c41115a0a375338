//! Streaming registry import: reader threads parse and validate rows (NDJSON on several cores)
//! and hand batches to the store, which stages them and merges everything in one transaction at
//! the end. Rejected
//! rows are reported with their line and reason; the accepted rows commit all together or, on
//! any failure (or a crash), not at all.

use std::{
    collections::HashMap,
    io::Read,
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc as std_mpsc,
    },
};

use serde::Serialize;
use tokio::sync::mpsc;

use super::{ImportRow, Record, RecordError, today};
use crate::{
    domain::consequences,
    platform::{config::IssuanceSettings, progress::Progress},
    store::{Citizen, ImportCounts, StagedDocument, Store, StoreError},
};

/// Rows handed to the store at a time.
const BATCH: usize = 10_000;
/// Rejections listed in a report (all are counted).
const REPORTED_REJECTIONS: usize = 1_000;

/// The import formats of the public contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Ndjson,
    /// Comma-separated, with a header row naming the fields.
    Csv,
}

impl Format {
    /// The format a file name implies (`.csv`, else NDJSON).
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("csv") => Self::Csv,
            _ => Self::Ndjson,
        }
    }
}

/// A refused row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// 1-based line number in the file.
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// The outcome of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// What was committed.
    #[serde(flatten)]
    pub counts: ImportCounts,
    /// How many rows were refused.
    pub rejected: i64,
    /// The first refused rows, with reasons.
    pub rejections: Vec<Rejection>,
}

/// Why an import failed as a whole (nothing was committed).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file could not be read.
    #[error("reading the import: {0}")]
    Io(#[from] std::io::Error),
    /// The CSV header lacks a field of the contract, or the file is not valid CSV.
    #[error("CSV: {0}")]
    Csv(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The reader thread stopped unexpectedly.
    #[error("the reader thread failed")]
    Reader,
    /// Stopped on request (an operator's Ctrl-C or SIGTERM) before the commit: nothing was
    /// written.
    #[error("interrupted: nothing was imported, the registry is as it was")]
    Interrupted,
}

/// Imports a file (format from its extension unless given).
pub async fn import_file(
    store: &Store,
    settings: &IssuanceSettings,
    path: &Path,
    format: Option<Format>,
) -> Result<ImportReport, ImportError> {
    let format = format.unwrap_or_else(|| Format::from_path(path));
    let file = std::fs::File::open(path)?;
    import_reader(store, settings, file, format, &path.display().to_string()).await
}

/// Imports a file as an operator runs it: `progress` follows the bytes read and the rows, and
/// once `stop` is set (a signal) the import ends with [`ImportError::Interrupted`] and nothing
/// written, unless its commit is already done.
pub async fn import_file_watched(
    store: &Store,
    settings: &IssuanceSettings,
    path: &Path,
    format: Option<Format>,
    progress: &Progress,
    stop: &AtomicBool,
) -> Result<ImportReport, ImportError> {
    let format = format.unwrap_or_else(|| Format::from_path(path));
    let file = progress.read(std::fs::File::open(path)?);
    let source = path.display().to_string();
    import_watched(store, settings, file, format, &source, progress, stop).await
}

/// Imports from any reader.
pub async fn import_reader(
    store: &Store,
    settings: &IssuanceSettings,
    reader: impl Read + Send + 'static,
    format: Format,
    source: &str,
) -> Result<ImportReport, ImportError> {
    let never = AtomicBool::new(false);
    let progress = Progress::hidden();
    import_watched(store, settings, reader, format, source, &progress, &never).await
}

async fn import_watched(
    store: &Store,
    settings: &IssuanceSettings,
    reader: impl Read + Send + 'static,
    format: Format,
    source: &str,
    progress: &Progress,
    stop: &AtomicBool,
) -> Result<ImportReport, ImportError> {
    let stopped = || stop.load(Ordering::Relaxed);
    let mut import = store.begin_import().await?;
    let (sender, mut batches) = mpsc::channel::<Batch>(4);
    let counter = progress.clone();
    let parser = tokio::task::spawn_blocking(move || parse(reader, format, &sender, &counter));
    while let Some(batch) = batches.recv().await {
        if stopped() {
            // Dropping the receiver stops the reader threads; the staged rows were never
            // merged, and go with the import.
            return Err(ImportError::Interrupted);
        }
        if !batch.citizens.is_empty() {
            import.stage(&batch.citizens).await?;
        }
        if !batch.documents.is_empty() {
            import.stage_documents(&batch.documents).await?;
        }
    }
    let (mut rejected, mut rejections) = parser.await.map_err(|_| ImportError::Reader)??;
    if stopped() {
        return Err(ImportError::Interrupted);
    }
    progress.phase("merging in one transaction");
    let now = crate::platform::clock::now();
    // What each changed citizen's account undergoes is the domain's decision, applied in the
    // import's transaction.
    let decide = consequences::registry_decision(now, settings.pending_offer_ttl_seconds);
    let outcome = import
        .commit(source, rejected, now, &decide, stop)
        .await?
        .ok_or(ImportError::Interrupted)?;
    // Documents whose citizen is nowhere are refused at the merge, where that is known.
    for line in outcome.orphan_documents {
        rejected += 1;
        if rejections.len() < REPORTED_REJECTIONS {
            rejections.push(Rejection {
                line: line as u64,
                reason: "document: no citizen with this id_number in the registry or the import"
                    .into(),
            });
        }
    }
    rejections.sort_by_key(|r| r.line);
    Ok(ImportReport {
        counts: outcome.counts,
        rejected,
        rejections,
    })
}

/// Tracks rejections and duplicate ID numbers across the whole file.
/// Validated rows on their way to the store.
#[derive(Debug, Default)]
pub struct Batch {
    /// Citizen records.
    pub citizens: Vec<Citizen>,
    /// Documents, with their lines.
    pub documents: Vec<StagedDocument>,
}

impl Batch {
    fn len(&self) -> usize {
        self.citizens.len() + self.documents.len()
    }
}

struct Validator {
    progress: Progress,
    today: (u32, u32, u32),
    seen: HashMap<u64, u64>,
    seen_documents: HashMap<(u64, String), u64>,
    rejected: i64,
    rejections: Vec<Rejection>,
    batch: Batch,
}

impl Validator {
    fn new(progress: Progress) -> Self {
        Self {
            progress,
            today: today(),
            seen: HashMap::new(),
            seen_documents: HashMap::new(),
            rejected: 0,
            rejections: Vec::new(),
            batch: Batch {
                citizens: Vec::with_capacity(BATCH),
                documents: Vec::new(),
            },
        }
    }

    fn reject(&mut self, line: u64, error: RecordError) {
        self.rejected += 1;
        if self.rejections.len() < REPORTED_REJECTIONS {
            self.rejections.push(Rejection {
                line,
                reason: error.to_string(),
            });
        }
    }

    /// Takes a checked row in file order (duplicates are found here); returns false when the
    /// consumer has gone away.
    fn row(
        &mut self,
        line: u64,
        row: Result<Record, RecordError>,
        sender: &mpsc::Sender<Batch>,
    ) -> bool {
        self.progress.rows(1);
        let record = match row {
            Ok(record) => record,
            Err(error) => {
                self.reject(line, error);
                return true;
            }
        };
        match record {
            Record::Citizen(citizen) => {
                // Validated: 12 ASCII digits, so the number fits a u64 key.
                let key = citizen.id_number.parse::<u64>().unwrap_or(u64::MAX);
                if let Some(first) = self.seen.get(&key) {
                    let first = *first;
                    self.reject(line, RecordError::Duplicate(first));
                    return true;
                }
                self.seen.insert(key, line);
                self.batch.citizens.push(citizen);
            }
            Record::Document(document) => {
                let key = (
                    document.id_number.parse::<u64>().unwrap_or(u64::MAX),
                    document.kind.clone(),
                );
                if let Some(first) = self.seen_documents.get(&key) {
                    let first = *first;
                    self.reject(line, RecordError::Duplicate(first));
                    return true;
                }
                self.seen_documents.insert(key, line);
                self.batch.documents.push(StagedDocument {
                    line: line as i64,
                    id_number: document.id_number,
                    kind: document.kind,
                    claims: document.claims,
                });
            }
        }
        if self.batch.len() == BATCH {
            let batch = std::mem::replace(
                &mut self.batch,
                Batch {
                    citizens: Vec::with_capacity(BATCH),
                    documents: Vec::new(),
                },
            );
            return sender.blocking_send(batch).is_ok();
        }
        true
    }

    fn finish(mut self, sender: &mpsc::Sender<Batch>) -> (i64, Vec<Rejection>) {
        if self.batch.len() > 0 {
            let batch = std::mem::take(&mut self.batch);
            let _ = sender.blocking_send(batch);
        }
        (self.rejected, self.rejections)
    }
}

fn parse(
    reader: impl Read + Send,
    format: Format,
    sender: &mpsc::Sender<Batch>,
    progress: &Progress,
) -> Result<(i64, Vec<Rejection>), ImportError> {
    let mut validator = Validator::new(progress.clone());
    match format {
        Format::Ndjson => parse_ndjson(reader, &mut validator, sender)?,
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
            let mut headers = reader
                .byte_headers()
                .map_err(|e| ImportError::Csv(e.to_string()))?
                .clone();
            // The phones cell is a list written as text (`0912 345 678; 0987654321`): read by
            // hand, since a CSV deserializer would take a lone number for an integer and drop
            // its leading zero. Its header is renamed so serde leaves it alone.
            let phones_column = headers.iter().position(|h| h == b"phones");
            if let Some(column) = phones_column {
                headers = headers
                    .iter()
                    .enumerate()
                    .map(|(i, h)| if i == column { &b"\0phones"[..] } else { h })
                    .collect();
            }
            for field in [
                "id_number",
                "full_name",
                "date_of_birth",
                "sex",
                "place_of_origin",
                "place_of_residence",
            ] {
                if !headers.iter().any(|h| h == field.as_bytes()) {
                    return Err(ImportError::Csv(format!(
                        "the header has no `{field}` column"
                    )));
                }
            }
            let mut record = csv::ByteRecord::new();
            loop {
                match reader.read_byte_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {}
                    Err(e) if e.is_io_error() => return Err(ImportError::Csv(e.to_string())),
                    Err(e) => {
                        let line = e.position().map_or(0, csv::Position::line);
                        validator.reject(line, RecordError::Malformed(e.to_string()));
                        continue;
                    }
                }
                let line = record.position().map_or(0, csv::Position::line);
                let row = record
                    .deserialize::<ImportRow<'_>>(Some(&headers))
                    .map_err(|e| RecordError::Malformed(e.to_string()))
                    .and_then(|mut row| {
                        if let Some(cell) = phones_column.and_then(|c| record.get(c)) {
                            let cell = std::str::from_utf8(cell)
                                .map_err(|_| RecordError::Malformed("phones: not UTF-8".into()))?;
                            row.phones = Some(cell.split([';', ',']).map(str::to_owned).collect());
                        }
                        row.validate(validator.today)
                    })
                    .map(Record::Citizen);
                if !validator.row(line, row, sender) {
                    break;
                }
            }
        }
    }
    Ok(validator.finish(sender))
}

/// Threads that parse and validate NDJSON chunks.
const WORKERS: usize = 2;
/// Bytes read at a time (then cut after the last complete line).
const CHUNK: usize = 1 << 20;

/// The rows of one chunk, checked, with their line numbers.
pub type Checked = Vec<(u64, Result<Record, RecordError>)>;

/// NDJSON in parallel: a reader cuts the input into chunks of whole lines, `WORKERS` threads
/// parse and validate chunks round-robin, and this thread takes their results back in file order
/// (so duplicates are reported against the first occurrence, as a sequential read would).
fn parse_ndjson(
    reader: impl Read + Send,
    validator: &mut Validator,
    sender: &mpsc::Sender<Batch>,
) -> Result<(), ImportError> {
    let today = validator.today;
    std::thread::scope(|scope| {
        let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
        for _ in 0..WORKERS {
            let (to_worker, chunks) = std_mpsc::sync_channel::<(u64, Vec<u8>)>(2);
            let (results, from_worker) = std_mpsc::sync_channel::<Checked>(2);
            scope.spawn(move || {
                for (first_line, chunk) in chunks {
                    if results
                        .send(check_lines(first_line, &chunk, today))
                        .is_err()
                    {
                        break;
                    }
                }
            });
            inputs.push(to_worker);
            outputs.push(from_worker);
        }
        let reading = scope.spawn(move || read_chunks(reader, &inputs));
        'chunks: for i in 0.. {
            let Ok(checked) = outputs[i % WORKERS].recv() else {
                break;
            };
            for (line, row) in checked {
                if !validator.row(line, row, sender) {
                    break 'chunks;
                }
            }
        }
        // Dropping the receivers stops the workers and then the reader, if they are still going.
        drop(outputs);
        reading.join().map_err(|_| ImportError::Reader)?
    })
}

/// Reads `reader` to the end in chunks of whole lines, handing chunk `i` to worker `i % WORKERS`.
fn read_chunks(
    mut reader: impl Read,
    workers: &[std_mpsc::SyncSender<(u64, Vec<u8>)>],
) -> Result<(), ImportError> {
    let (mut carry, mut first_line) = (Vec::new(), 1u64);
    for i in 0.. {
        let mut chunk = std::mem::take(&mut carry);
        let start = chunk.len();
        chunk.resize(start + CHUNK, 0);
        let mut filled = start;
        while filled < chunk.len() {
            match reader.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        let at_end = filled < chunk.len();
        chunk.truncate(filled);
        if !at_end {
            // Keep the incomplete last line for the next chunk.
            let Some(cut) = chunk.iter().rposition(|b| *b == b'\n') else {
                carry = chunk;
                continue;
            };
            carry = chunk.split_off(cut + 1);
        }
        if chunk.is_empty() {
            return Ok(());
        }
        let lines = chunk.iter().filter(|b| **b == b'\n').count() as u64;
        if workers[i % workers.len()]
            .send((first_line, chunk))
            .is_err()
        {
            return Ok(()); // the import stopped
        }
        first_line += lines;
        if at_end {
            return Ok(());
        }
    }
    Ok(())
}

/// Parses and validates NDJSON lines (the first numbered `first_line`) as of `today`; blank lines
/// are skipped. Duplicate ID numbers are not looked for here (that needs the whole file).
pub fn check_lines(first_line: u64, chunk: &[u8], today: (u32, u32, u32)) -> Checked {
    let mut checked = Vec::with_capacity(chunk.len() / 200);
    for (n, line) in chunk.split(|b| *b == b'\n').enumerate() {
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        let row = serde_json::from_slice::<ImportRow<'_>>(text)
            .map_err(|e| {
                RecordError::Malformed(format!("not a JSON object of the import contract: {e}"))
            })
            .and_then(|row| row.validate_record(today));
        checked.push((first_line + n as u64, row));
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `input` as the import does, collecting accepted ID numbers in order.
    fn run(input: Vec<u8>) -> (Vec<String>, i64, Vec<Rejection>) {
        let (sender, mut receiver) = mpsc::channel::<Batch>(4);
        let drain = std::thread::spawn(move || {
            let mut ids = Vec::new();
            while let Some(batch) = receiver.blocking_recv() {
                ids.extend(batch.citizens.into_iter().map(|c| c.id_number));
            }
            ids
        });
        let (rejected, rejections) = parse(
            std::io::Cursor::new(input),
            Format::Ndjson,
            &sender,
            &Progress::hidden(),
        )
        .unwrap();
        drop(sender);
        (drain.join().unwrap(), rejected, rejections)
    }

    #[test]
    fn ndjson_across_chunk_boundaries_keeps_order_and_line_numbers() {
        let mut input = Vec::new();
        crate::domain::registry::generate::write_ndjson(&mut input, 3, 30_000, false).unwrap();
        assert!(
            input.len() > 3 * CHUNK,
            "the input must span several chunks"
        );
        let lines: Vec<&[u8]> = input
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let expected: Vec<String> = lines
            .iter()
            .map(|l| {
                serde_json::from_slice::<serde_json::Value>(l).unwrap()["id_number"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        // A blank line, a bad row and a duplicate of the first row, and no final newline.
        let mut edited: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
        edited.insert(10_000, Vec::new());
        edited.insert(20_000, b"{not json".to_vec());
        edited.push(lines[0].to_vec());
        let (ids, rejected, rejections) = run(edited.join(&b'\n'));
        assert_eq!(ids, expected);
        assert_eq!(rejected, 2);
        assert_eq!(rejections[0].line, 20_001);
        assert!(rejections[0].reason.starts_with("malformed row"));
        assert_eq!(rejections[1].line, 30_003);
        assert_eq!(
            rejections[1].reason,
            "duplicate id_number (first on line 1)"
        );
    }

    #[test]
    fn empty_input() {
        assert_eq!(run(Vec::new()), (Vec::new(), 0, Vec::new()));
        assert_eq!(run(b"\n\n".to_vec()), (Vec::new(), 0, Vec::new()));
    }
}
