//! The `accesslake` binary lives in `main.rs`; this library target exists so
//! end-to-end tests can locate the built binary through Cargo.
