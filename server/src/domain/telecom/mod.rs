//! Telecom operators: relying parties of kind `telecom` and what they do with the registry.
//! Bulk matching of an operator's existing subscriber base lives in [`matching`].

pub mod matching;
