//! HELP text for every series `/metrics` exposes, and the build information series.
//! `crates/textbird/tests/admin.rs` checks that each series on `/metrics` has a HELP line.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

/// Registers the description of every series (call once the recorder is installed).
pub fn describe() {
    describe_counter!("textbird_messages_total", "Messages that reached each status, by status");
    describe_gauge!("textbird_messages", "Messages stored now, by status");
    describe_gauge!("textbird_queue_depth", "Messages due to be sent and not yet claimed");
    describe_counter!("textbird_http_requests_total", "HTTP requests answered, by method, route and status");
    describe_histogram!(
        "textbird_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by method and route"
    );
    describe_histogram!(
        "textbird_dispatch_latency_seconds",
        Unit::Seconds,
        "Time from a message being due to its submission being accepted"
    );
    describe_histogram!("textbird_submit_seconds", Unit::Seconds, "Time a connector took to answer a submission");
    describe_counter!(
        "textbird_dispatch_failovers_total",
        "Messages handed to the next route, by the connector that could not take them"
    );
    describe_counter!(
        "textbird_dispatch_lease_lapsed_total",
        "Messages left to their lease's end after waiting too long behind a throttle"
    );
    describe_gauge!("textbird_smpp_bound", "Bound SMPP sessions to the carrier, by connector (0: down)");
    describe_counter!("textbird_smpp_reconnects_total", "Attempts to bind to the carrier again, by connector");
    describe_gauge!("textbird_connector_paused", "Whether an operator paused the connector (1) or not (0)");
    describe_counter!("textbird_carrier_deliver_refused_total", "Carrier deliver_sm answered with a temporary error");
    describe_counter!("textbird_orphan_reports_total", "Delivery reports that matched no message");
    describe_counter!("textbird_inbound_unrouted_total", "Inbound messages to a number no account owns");
    describe_counter!("textbird_receipts_given_up_total", "Messages whose delivery report never came in time");
    describe_counter!("textbird_webhook_attempts_total", "Webhook delivery attempts, by outcome");
    describe_counter!("textbird_login_failures_total", "Failed password or client-secret checks");
    describe_counter!("textbird_login_refusals_total", "Logins refused for too many failures");
    describe_gauge!("textbird_smpp_server_sessions", "Customer SMPP sessions bound now");
    describe_counter!("textbird_smpp_server_submits_total", "submit_sm received from customer SMPP sessions");
    describe_counter!("textbird_smpp_server_dropped_total", "Notices a slow customer SMPP session missed");
    describe_counter!("textbird_smpp_server_lagged_total", "Times a customer SMPP session fell behind its notices");
    describe_gauge!("textbird_store_writes_failing", "Whether the database refuses writes now (1) or not (0)");
    describe_histogram!("textbird_store_commit_seconds", Unit::Seconds, "Time to commit one batch of writes");
    describe_histogram!("textbird_store_batch_ops", "Operations committed in one batch");
    describe_gauge!("textbird_build_info", "Always 1; the labels name the running version");
    metrics::gauge!("textbird_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}
