//! `wagw logs --follow [--json]`: tails the daemon's event stream (`GET /v1/events`): inbound
//! turns, account state changes, QR and link events, pairing challenges, send failures.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use super::{Context, block_on};
use crate::error::CliError;
use wagw_http::model::EventRecord;

/// `wagw logs` options.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Keep printing events as they happen, until interrupted or the gateway stops.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// First replay the events the gateway still holds, from the oldest.
    #[arg(long)]
    pub from_start: bool,
}

/// Runs `wagw logs`.
pub fn run(args: LogsArgs, ctx: &Context) -> Result<ExitCode, CliError> {
    if !args.follow {
        return Err(CliError::Usage(
            "`wagw logs` tails the running gateway's event stream: add --follow (-f). \
             The daemon's own log lines go to its stderr (and --log-file)"
                .to_owned(),
        ));
    }
    let config = ctx.load_config()?;
    let client = ctx.client(&config)?;
    let json = ctx.json;
    let after = args.from_start.then_some(0);
    block_on(async move {
        let mut out = std::io::stdout();
        // A closed stdout (`wagw logs -f | head`) ends the command quietly.
        client
            .events(after, |e| {
                writeln!(out, "{}", line(&e, json)).is_ok() && out.flush().is_ok()
            })
            .await
    })??;
    Ok(ExitCode::SUCCESS)
}

/// One event as a line: the record as JSON, or `time type account: summary`.
pub fn line(e: &EventRecord, json: bool) -> String {
    if json {
        return serde_json::to_string(e).unwrap_or_default();
    }
    let secs = e.at_ms.div_euclid(1000);
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let d = &e.data;
    let field = |k: &str| d.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let account = field("account")
        .or_else(|| field("accountId"))
        .or_else(|| {
            d.pointer("/turn/accountId")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "-".to_owned());
    // Message bodies stay out of a log line (they are in --json for who asks).
    let summary = [
        "detail", "state", "sender", "from", "reason", "error", "message",
    ]
    .iter()
    .filter_map(|k| field(k).map(|v| format!("{k}={v}")))
    .collect::<Vec<_>>()
    .join(" ");
    format!(
        "{h:02}:{m:02}:{s:02}Z #{} {} {account}{}{summary}",
        e.seq,
        e.kind,
        if summary.is_empty() { "" } else { ": " }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_time_type_account_and_summary_but_no_text() {
        let e = EventRecord {
            seq: 7,
            at_ms: 3_723_000,
            kind: "account_state".into(),
            data: serde_json::json!({"account": "work", "state": "backoff", "detail": "dns", "text": "secret"}),
        };
        assert_eq!(
            line(&e, false),
            "01:02:03Z #7 account_state work: detail=dns state=backoff"
        );
        let v: serde_json::Value = serde_json::from_str(&line(&e, true)).unwrap_or_default();
        assert_eq!(v["seq"], 7);
    }
}
