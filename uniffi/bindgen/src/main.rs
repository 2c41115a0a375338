//! `uniffi-bindgen`: generates the Kotlin, Swift and Python bindings of `dinhdanh-ffi` from the
//! built library (`uniffi-bindgen generate --library target/debug/libdinhdanh_ffi.so ...`).

fn main() {
    uniffi::uniffi_bindgen_main();
}
