//! Request metrics in the Prometheus text format: requests by route, method and status, and a
//! latency histogram per route. Per process: each server process exposes its own.

use std::{collections::BTreeMap, fmt::Write, sync::Mutex, time::Duration};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
}

/// The registry of this process's request metrics.
#[derive(Debug, Default)]
pub struct Metrics(Mutex<Inner>);

impl Metrics {
    /// Records one request. `route` is the matched route template, never the raw path (which
    /// could carry personal data such as an ID number).
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let Ok(mut inner) = self.0.lock() else { return };
        *inner
            .requests
            .entry((route.to_owned(), method.to_owned(), status))
            .or_default() += 1;
        let histogram = inner.latency.entry(route.to_owned()).or_default();
        let seconds = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                histogram.counts[i] += 1;
            }
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    /// The metrics in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let Ok(inner) = self.0.lock() else { return out };
        out.push_str(
            "# HELP dinhdanh_http_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE dinhdanh_http_requests_total counter\n");
        for ((route, method, status), n) in &inner.requests {
            let _ = writeln!(
                out,
                "dinhdanh_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP dinhdanh_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE dinhdanh_http_request_duration_seconds histogram\n");
        for (route, h) in &inner.latency {
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "dinhdanh_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "dinhdanh_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "dinhdanh_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "dinhdanh_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out
    }
}

/// Appends the SMS gateway's counters: messages delivered, failed (given up on), refused (queue
/// full), and tries repeated.
pub fn render_sms(out: &mut String, counters: crate::platform::sms::SmsCounters) {
    out.push_str("# HELP dinhdanh_sms_messages_total SMS messages by outcome.\n");
    out.push_str("# TYPE dinhdanh_sms_messages_total counter\n");
    for (outcome, n) in [
        ("delivered", counters.delivered),
        ("failed", counters.failed),
        ("refused", counters.refused),
    ] {
        let _ = writeln!(
            out,
            "dinhdanh_sms_messages_total{{outcome=\"{outcome}\"}} {n}"
        );
    }
    out.push_str(
        "# HELP dinhdanh_sms_retries_total SMS tries repeated after a transient failure.\n",
    );
    out.push_str("# TYPE dinhdanh_sms_retries_total counter\n");
    let _ = writeln!(out, "dinhdanh_sms_retries_total {}", counters.retried);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let metrics = Metrics::default();
        metrics.record("POST", "/v1/enrolments", 202, Duration::from_millis(3));
        metrics.record("POST", "/v1/enrolments", 202, Duration::from_millis(30));
        let text = metrics.render();
        assert!(text.contains("dinhdanh_http_requests_total{route=\"/v1/enrolments\",method=\"POST\",status=\"202\"} 2"));
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"+Inf\"} 2"));
        assert!(text.contains("_count{route=\"/v1/enrolments\"} 2"));
    }
}
