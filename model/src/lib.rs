//! The vocabulary shared by every accesslake stage.
//!
//! - [`event`]: entry and admin events and their strict decoder ([`parse_line`]).
//! - [`reason`]: [`Outcome`] and the [`Reason`] codes of the decision rules.
//! - [`record`]: the rows of the lake tables ([`Decision`], [`AdminRecord`], [`Rejected`]).
//! - [`schema`]: one Arrow schema per lake [`Table`].
//! - [`time`]: strict RFC 3339 parsing to UTC microseconds and the [`Clock`].
//! - `aws` (feature `aws`): the AWS SDK configuration every client shares.

#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

#[cfg(feature = "aws")]
pub mod aws;
pub mod event;
pub mod logging;
pub mod reason;
pub mod record;
pub mod schema;
pub mod time;

pub use event::{
    AdminData, AdminEvent, AdminType, CardStatus, Direction, Door, Employee, EmployeeStatus,
    EntryEvent, Event, MAX_RECORD_BYTES, RecordError, Schedule, Zone, first_json_special,
    parse_admin_json, parse_entry_json, parse_json, parse_line, parse_text_line, plain_line,
};
pub use reason::{Outcome, Reason};
pub use record::{
    AdminRecord, Decision, EventId, Id, IdNumbers, LocalTime, Rejected, Source, same_bytes, same_id,
};
pub use schema::Table;
pub use time::{
    Clock, DAY_MICROS, FixedClock, Micros, SystemClock, date_day, format_date, format_rfc3339,
    parse_rfc3339, push_date, utc_date, utc_day,
};

/// Asks the processor to start loading the cache line that holds `value`,
/// without waiting for it: for a loop over rows larger than the caches,
/// the row a few steps ahead. A hint only; it changes no result. On
/// processors other than x86-64 it does nothing.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    safe_arch::prefetch_t0(value);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
