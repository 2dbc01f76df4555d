//! The log level setting (`ACCESSLAKE_LOG`) shared by the CLI and the Lambdas.

/// Turns an `ACCESSLAKE_LOG` setting into `tracing` filter directives that
/// keep personal data out of the logs (SPEC 5).
///
/// A bare level (`debug`, `trace`) sets accesslake's own crates to it; every
/// other crate stays at `info` at most, because their debug and trace events
/// carry whole payloads: `lambda_runtime` logs each raw event (card ids,
/// names) at trace and the AWS SDK logs request details. Directives that name
/// a target (`aws_smithy_runtime=trace`) pass through unchanged: an explicit
/// choice of the operator, for debugging outside production data.
pub fn log_directives(setting: &str) -> String {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let mut own: Option<&str> = None;
    let mut named = Vec::new();
    for d in setting.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        match LEVELS.iter().position(|l| l.eq_ignore_ascii_case(d)) {
            Some(i) => own = Some(LEVELS[i]),
            None => named.push(d),
        }
    }
    let own = own.unwrap_or("warn");
    let others = if matches!(own, "debug" | "trace") {
        "info"
    } else {
        own
    };
    let mut out = format!("{others},accesslake={own}");
    for d in named {
        out.push(',');
        out.push_str(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::log_directives;

    #[test]
    fn bare_levels_apply_to_accesslake_and_cap_other_crates_at_info() {
        assert_eq!(log_directives("trace"), "info,accesslake=trace");
        assert_eq!(log_directives("DEBUG"), "info,accesslake=debug");
        assert_eq!(log_directives("warn"), "warn,accesslake=warn");
        assert_eq!(log_directives("info"), "info,accesslake=info");
        assert_eq!(log_directives(""), "warn,accesslake=warn");
        assert_eq!(
            log_directives("trace, aws_smithy_runtime=trace"),
            "info,accesslake=trace,aws_smithy_runtime=trace"
        );
        assert_eq!(
            log_directives("accesslake_ingest::local=debug"),
            "warn,accesslake=warn,accesslake_ingest::local=debug"
        );
    }
}
