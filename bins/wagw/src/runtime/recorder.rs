//! The daemon's `metrics` recorder: collects what libraries emit through the `metrics`
//! facade — whatsapp-rust's `wa_*` counters, gauges and duration histograms — and renders
//! it as Prometheus text for `GET /metrics`, after the gateway's own `wagw_*` families.
//!
//! Why a recorder of our own rather than `metrics-exporter-prometheus`: `/metrics` is
//! already rendered by the daemon (the gateway's families, per account), so all that is
//! needed is a registry and a renderer; this one is ~200 lines on the `metrics` crate
//! alone (MIT, already in the tree through whatsapp-rust), where the exporter brings an
//! HTTP/push stack, `quanta`, `metrics-util` and summary sketches we would not use, and
//! its own `# TYPE` blocks to merge. Histograms use fixed Prometheus-default buckets
//! (seconds), which fit the library's durations (IQ round-trips, connects, sends).
//!
//! Only the daemon installs it, once per process ([`install`]). Libraries never install
//! a recorder; an embedder installs its own (see `docs/embedding.md`).
//!
//! The library's series carry no account label: whatsapp-rust's labels are categorical
//! only (outcome, kind, reason) and a process with several accounts sums them. Per-account
//! figures come from each transport's resources (`wagw_transport_*{account=...}`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};

/// Upper bounds of the histogram buckets, in the unit recorded (seconds for durations).
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A fixed-bucket histogram (cumulative counts are computed when rendering).
#[derive(Debug, Default)]
struct Buckets {
    counts: [AtomicU64; BUCKETS.len()],
    /// Observations above the last bound (the `+Inf` bucket's own share).
    overflow: AtomicU64,
    /// The sum of observations, as f64 bits.
    sum: AtomicU64,
}

impl HistogramFn for Buckets {
    fn record(&self, value: f64) {
        match BUCKETS.iter().position(|&b| value <= b) {
            Some(i) => self.counts[i].fetch_add(1, Ordering::Relaxed),
            None => self.overflow.fetch_add(1, Ordering::Relaxed),
        };
        let _ = self
            .sum
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
    }
}

#[derive(Debug, Clone)]
enum Series {
    Counter(Arc<AtomicU64>),
    /// f64 bits, as `metrics` stores gauges in an `AtomicU64`.
    Gauge(Arc<AtomicU64>),
    Histogram(Arc<Buckets>),
}

impl Series {
    fn kind(&self) -> &'static str {
        match self {
            Series::Counter(_) => "counter",
            Series::Gauge(_) => "gauge",
            Series::Histogram(_) => "histogram",
        }
    }
}

/// Label pairs, sorted, so one label set is one series however the caller ordered them.
type Labels = Vec<(String, String)>;

#[derive(Debug, Default)]
struct State {
    /// The fast path: `metrics`' macros register on every emit, so a key seen before is
    /// one hash lookup, without sanitizing or allocating.
    by_key: HashMap<Key, Series>,
    /// name → label set → series. A name keeps the kind it was first registered with.
    families: BTreeMap<String, BTreeMap<Labels, Series>>,
    /// name → help text (from `describe_*`, which may come before or after registration).
    help: BTreeMap<String, String>,
}

/// The recorder and its registry. Cheap to clone; clones share the registry.
#[derive(Debug, Clone, Default)]
pub struct LibraryMetrics {
    state: Arc<Mutex<State>>,
}

impl LibraryMetrics {
    /// An empty registry, not installed anywhere.
    pub fn new() -> LibraryMetrics {
        LibraryMetrics::default()
    }

    fn describe(&self, key: &KeyName, unit: Option<Unit>, description: &SharedString) {
        let mut help = description.to_string();
        // Counts need no unit; seconds and bytes are worth saying.
        if let Some(unit) = unit.filter(|u| *u != Unit::Count) {
            let _ = write!(help, " ({})", unit.as_str());
        }
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.help.insert(sanitize(key.as_str()), help);
    }

    /// The series for `key`, created as `make()` on first use. A key whose name already
    /// exists with another kind gets a detached series (recorded, never rendered), so a
    /// family never mixes kinds.
    fn series(&self, key: &Key, make: fn() -> Series) -> Series {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(known) = st.by_key.get(key) {
            return known.clone();
        }
        let name = sanitize(key.name());
        let mut labels: Labels = key
            .labels()
            .map(|l| (sanitize(l.key()), l.value().to_owned()))
            .collect();
        labels.sort();
        let family = st.families.entry(name).or_default();
        let fresh = make();
        if let Some(existing) = family.values().next()
            && existing.kind() != fresh.kind()
        {
            return fresh;
        }
        let series = family.entry(labels).or_insert(fresh).clone();
        st.by_key.insert(key.clone(), series.clone());
        series
    }

    /// Every family in Prometheus text format (0.0.4): `# HELP`, `# TYPE`, then samples.
    pub fn render(&self) -> String {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        for (name, family) in &st.families {
            let Some(first) = family.values().next() else {
                continue;
            };
            if let Some(help) = st.help.get(name) {
                let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
            }
            let _ = writeln!(out, "# TYPE {name} {}", first.kind());
            for (labels, series) in family {
                match series {
                    Series::Counter(v) => {
                        let v = v.load(Ordering::Relaxed);
                        let _ = writeln!(out, "{name}{} {v}", label_set(labels, None));
                    }
                    Series::Gauge(v) => {
                        let v = f64::from_bits(v.load(Ordering::Relaxed));
                        let _ = writeln!(out, "{name}{} {}", label_set(labels, None), number(v));
                    }
                    Series::Histogram(h) => {
                        let mut cumulative = 0;
                        for (bound, count) in BUCKETS.iter().zip(&h.counts) {
                            cumulative += count.load(Ordering::Relaxed);
                            let le = number(*bound);
                            let _ = writeln!(
                                out,
                                "{name}_bucket{} {cumulative}",
                                label_set(labels, Some(&le))
                            );
                        }
                        cumulative += h.overflow.load(Ordering::Relaxed);
                        let _ = writeln!(
                            out,
                            "{name}_bucket{} {cumulative}",
                            label_set(labels, Some("+Inf"))
                        );
                        let sum = f64::from_bits(h.sum.load(Ordering::Relaxed));
                        let _ =
                            writeln!(out, "{name}_sum{} {}", label_set(labels, None), number(sum));
                        let _ =
                            writeln!(out, "{name}_count{} {cumulative}", label_set(labels, None));
                    }
                }
            }
        }
        out
    }
}

impl Recorder for LibraryMetrics {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(&key, unit, &description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(&key, unit, &description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(&key, unit, &description);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        match self.series(key, || Series::Counter(Arc::default())) {
            Series::Counter(v) => Counter::from_arc(v),
            _ => Counter::noop(),
        }
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        match self.series(key, || Series::Gauge(Arc::default())) {
            Series::Gauge(v) => Gauge::from_arc(v),
            _ => Gauge::noop(),
        }
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        match self.series(key, || Series::Histogram(Arc::default())) {
            Series::Histogram(v) => Histogram::from_arc(v),
            _ => Histogram::noop(),
        }
    }
}

static INSTALLED: OnceLock<Option<LibraryMetrics>> = OnceLock::new();

/// Installs the daemon's recorder as the process's global `metrics` recorder (once; later
/// calls return the same one) and registers the help texts of whatsapp-rust's metrics.
/// `None` when another recorder was installed first (then that one collects them).
pub fn install() -> Option<&'static LibraryMetrics> {
    INSTALLED
        .get_or_init(|| {
            let recorder = LibraryMetrics::new();
            match metrics::set_global_recorder(recorder.clone()) {
                Ok(()) => {
                    wagw_socket::describe_metrics();
                    Some(recorder)
                }
                Err(_) => {
                    tracing::warn!(target: "wagw::daemon",
                        "a metrics recorder was already installed; the library's wa_* metrics are not in /metrics");
                    None
                }
            }
        })
        .as_ref()
}

/// A metric or label name with every character Prometheus does not allow replaced by `_`.
fn sanitize(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

/// `{a="x",le="0.5"}`, or nothing without labels.
fn label_set(labels: &Labels, le: Option<&str>) -> String {
    if labels.is_empty() && le.is_none() {
        return String::new();
    }
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", super::metrics::label(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    format!("{{{}}}", parts.join(","))
}

/// HELP text escaping (`\` and newline).
fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample value as Prometheus reads it (`+Inf`, `-Inf`, `NaN`, else Rust's shortest form).
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn renders_counters_gauges_and_histograms_once_per_family() {
        let r = LibraryMetrics::new();
        metrics::with_local_recorder(&r, || {
            metrics::describe_counter!("wa_recv_total", Unit::Count, "Inbound messages");
            metrics::counter!("wa_recv_total", "outcome" => "decrypted").increment(2);
            metrics::counter!("wa_recv_total", "outcome" => "duplicate").increment(1);
            metrics::gauge!("wa_connected").set(1.0);
            metrics::describe_histogram!("wa_iq_duration_seconds", Unit::Seconds, "IQ time");
            metrics::histogram!("wa_iq_duration_seconds").record(0.03);
            metrics::histogram!("wa_iq_duration_seconds").record(20.0);
            // Same name, other kind: ignored rather than mixed into the family.
            metrics::gauge!("wa_recv_total").set(5.0);
        });
        let text = r.render();
        assert!(
            text.contains("# HELP wa_recv_total Inbound messages\n"),
            "{text}"
        );
        assert_eq!(
            text.matches("# TYPE wa_recv_total counter").count(),
            1,
            "{text}"
        );
        assert!(
            text.contains("wa_recv_total{outcome=\"decrypted\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("wa_connected 1\n"), "{text}");
        assert!(
            text.contains("# HELP wa_iq_duration_seconds IQ time (seconds)\n"),
            "{text}"
        );
        assert!(
            text.contains("wa_iq_duration_seconds_bucket{le=\"0.025\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("wa_iq_duration_seconds_bucket{le=\"0.05\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("wa_iq_duration_seconds_bucket{le=\"+Inf\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("wa_iq_duration_seconds_sum 20.03\n"),
            "{text}"
        );
        assert!(text.contains("wa_iq_duration_seconds_count 2\n"), "{text}");
        assert!(!text.contains("wa_recv_total 5"), "{text}");
    }

    #[test]
    fn names_and_labels_are_made_valid() {
        assert_eq!(sanitize("wa.recv-total"), "wa_recv_total");
        assert_eq!(sanitize("9lives"), "_9lives");
        let labels = vec![("reason".to_owned(), "a \"b\"\nc".to_owned())];
        assert_eq!(label_set(&labels, None), "{reason=\"a \\\"b\\\"\\nc\"}");
    }
}
