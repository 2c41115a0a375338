//! The `dinhdanh` command-line tool.
fn main() {}
