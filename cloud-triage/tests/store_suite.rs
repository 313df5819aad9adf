//! The store's behaviours, each run against SQLite and PostgreSQL
//! (see `store_suite/support.rs` for how the databases are made).

#[path = "store_suite/support.rs"]
mod support;

#[path = "store_suite/ingest.rs"]
mod ingest;

#[path = "store_suite/outbox.rs"]
mod outbox;

#[path = "store_suite/reads.rs"]
mod reads;

#[path = "store_suite/lifecycle.rs"]
mod lifecycle;

#[path = "store_suite/updates.rs"]
mod updates;

#[path = "store_suite/linking.rs"]
mod linking;

#[path = "store_suite/sla_paths.rs"]
mod sla_paths;

#[path = "store_suite/simulated_month.rs"]
mod simulated_month;

#[path = "store_suite/losses.rs"]
mod losses;

#[path = "store_suite/reassessment.rs"]
mod reassessment;

#[path = "store_suite/case_list.rs"]
mod case_list;

#[path = "store_suite/hazard.rs"]
mod hazard;
