//! hrsync integration tests: one binary. Real HTTP on 127.0.0.1 against hrsync's own
//! sandbox, fault-injecting fakes and the third-party scim2-server; the `hrsync` binary is
//! driven as a user would drive it.

mod util;

mod access_review;
mod admin_endpoint;
mod admin_handoff;
mod admin_webhooks;
mod apply_sandbox;
mod bad_input_config;
mod bad_input_hr;
mod bad_input_secrets;
mod check;
mod check_learned;
mod completions_man;
mod config_errors;
mod config_keys;
mod conflicts_drift;
mod daemon;
mod daemon_notify;
mod daemon_reload;
mod daemon_schedules;
mod daemon_wait;
mod demo;
mod exit_codes;
mod guards_groups;
mod identity_events;
mod interop_scim2;
mod lifecycle;
mod lifecycle_dates;
mod lifecycle_relink;
mod mapping_shared;
mod memberships_wait;
mod output_paths;
mod plan_cli;
mod plan_refusals;
mod plan_truth;
mod progress;
mod push_auth;
mod push_bulk;
mod push_circuit;
mod push_crash;
mod push_faults;
mod push_limits;
mod push_profiles;
mod push_quarantine;
mod read_refusals;
mod report_chromium;
mod sandbox_cli;
mod saved_plans_status;
mod sources_e2e;
mod sources_e2e_bamboohr;
