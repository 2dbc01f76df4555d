//! End-to-end tests across the accesslake crates live in `tests/tests/`
//! (Rust) and `tests/python/` (an independent reader of the lake); this
//! library target is empty.
