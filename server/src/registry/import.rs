//! Streaming registry import: a reader thread parses and validates rows and hands batches to
//! the store, which stages them and merges everything in one transaction at the end. Rejected
//! rows are reported with their line and reason; the accepted rows commit all together or, on
//! any failure (or a crash), not at all.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Read},
    path::Path,
};

use serde::Serialize;
use tokio::sync::mpsc;

use super::{ImportRow, RecordError, today};
use crate::store::{Citizen, ImportCounts, Store, StoreError};

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
}

/// Imports a file (format from its extension unless given).
pub async fn import_file(
    store: &Store,
    path: &Path,
    format: Option<Format>,
) -> Result<ImportReport, ImportError> {
    let format = format.unwrap_or_else(|| Format::from_path(path));
    let file = std::fs::File::open(path)?;
    import_reader(store, file, format, &path.display().to_string()).await
}

/// Imports from any reader.
pub async fn import_reader(
    store: &Store,
    reader: impl Read + Send + 'static,
    format: Format,
    source: &str,
) -> Result<ImportReport, ImportError> {
    let mut import = store.begin_import().await?;
    let (sender, mut batches) = mpsc::channel::<Vec<Citizen>>(4);
    let parser = tokio::task::spawn_blocking(move || parse(reader, format, &sender));
    while let Some(batch) = batches.recv().await {
        import.stage(&batch).await?;
    }
    let (rejected, rejections) = parser.await.map_err(|_| ImportError::Reader)??;
    let counts = import.commit(source, rejected, crate::clock::now()).await?;
    Ok(ImportReport {
        counts,
        rejected,
        rejections,
    })
}

/// Tracks rejections and duplicate ID numbers across the whole file.
struct Validator {
    today: (u32, u32, u32),
    seen: HashMap<u64, u64>,
    rejected: i64,
    rejections: Vec<Rejection>,
    batch: Vec<Citizen>,
}

impl Validator {
    fn new() -> Self {
        Self {
            today: today(),
            seen: HashMap::new(),
            rejected: 0,
            rejections: Vec::new(),
            batch: Vec::with_capacity(BATCH),
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

    /// Validates a row; returns false when the consumer has gone away.
    fn row(
        &mut self,
        line: u64,
        row: Result<ImportRow<'_>, RecordError>,
        sender: &mpsc::Sender<Vec<Citizen>>,
    ) -> bool {
        match row.and_then(|row| row.validate(self.today)) {
            Ok(citizen) => {
                // Validated: 12 ASCII digits, so the number fits a u64 key.
                let key = citizen.id_number.parse::<u64>().unwrap_or(u64::MAX);
                if let Some(first) = self.seen.get(&key) {
                    let first = *first;
                    self.reject(line, RecordError::Duplicate(first));
                    return true;
                }
                self.seen.insert(key, line);
                self.batch.push(citizen);
                if self.batch.len() == BATCH {
                    let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
                    return sender.blocking_send(batch).is_ok();
                }
                true
            }
            Err(error) => {
                self.reject(line, error);
                true
            }
        }
    }

    fn finish(mut self, sender: &mpsc::Sender<Vec<Citizen>>) -> (i64, Vec<Rejection>) {
        if !self.batch.is_empty() {
            let batch = std::mem::take(&mut self.batch);
            let _ = sender.blocking_send(batch);
        }
        (self.rejected, self.rejections)
    }
}

fn parse(
    reader: impl Read,
    format: Format,
    sender: &mpsc::Sender<Vec<Citizen>>,
) -> Result<(i64, Vec<Rejection>), ImportError> {
    let mut validator = Validator::new();
    match format {
        Format::Ndjson => {
            let mut reader = BufReader::with_capacity(1 << 16, reader);
            let mut line = Vec::new();
            let mut number = 0;
            loop {
                line.clear();
                if reader.read_until(b'\n', &mut line)? == 0 {
                    break;
                }
                number += 1;
                let text = line.trim_ascii();
                if text.is_empty() {
                    continue;
                }
                let row = serde_json::from_slice::<ImportRow<'_>>(text).map_err(|e| {
                    RecordError::Malformed(format!("not a JSON object of the import contract: {e}"))
                });
                if !validator.row(number, row, sender) {
                    break;
                }
            }
        }
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
            let headers = reader
                .byte_headers()
                .map_err(|e| ImportError::Csv(e.to_string()))?
                .clone();
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
                    .map_err(|e| RecordError::Malformed(e.to_string()));
                if !validator.row(line, row, sender) {
                    break;
                }
            }
        }
    }
    Ok(validator.finish(sender))
}
