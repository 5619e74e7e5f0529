//! Integration tests of the `calprov` binary: real processes, real SQLite files, a real
//! Python client.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod architecture;
mod backends;
mod backfill;
mod cli;
mod concurrent_migration;
mod concurrent_tracking;
mod crash_safety;
mod damage;
mod disk_full;
mod export;
mod faults;
mod lineage;
mod monitoring;
mod postgres;
mod postgres_faults;
mod postgres_tls;
mod python_casacore;
mod python_client;
mod report;
mod security;
mod support;
mod tracking;
mod verify;
