//! The WaSocket contract suite, run against the simulator.

use wagw_sim::SimSocket;
use wagw_sim::contract::{self, Capabilities, ContractHarness, Outcome, SimHarness};

#[tokio::test(start_paused = true)]
async fn simulator_meets_the_contract() {
    let mut harness = SimHarness::new();
    let report = contract::run_all(&mut harness).await;
    report.assert_passed();
    assert_eq!(report.passed(), report.results.len(), "{report}");
    assert_eq!(report.results.len(), 15);
}

/// A harness that declares fewer capabilities gets those checks skipped, not failed.
struct Minimal(SimHarness);

#[async_trait::async_trait]
impl ContractHarness for Minimal {
    type Socket = SimSocket;
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
    async fn linked_socket(&mut self) -> SimSocket {
        self.0.linked_socket().await
    }
    fn peer(&self) -> wagw_core::Jid {
        self.0.peer()
    }
}

#[tokio::test(start_paused = true)]
async fn missing_capabilities_skip_checks() {
    let report = contract::run_all(&mut Minimal(SimHarness::new())).await;
    report.assert_passed();
    let skipped: Vec<_> = report
        .results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Skipped { .. }))
        .map(|r| r.name)
        .collect();
    assert!(skipped.contains(&"inbound_text_delivered"));
    assert!(skipped.contains(&"qr_login_cadence"));
    assert!(!skipped.contains(&"send_acked_with_unique_ids"));
    assert!(
        report
            .to_string()
            .contains("skip  media_roundtrip (needs media)")
    );
}
