//! The shared store for several instances: PostgreSQL, migrated at start. Same statements
//! and behaviour as SQLite ([`super::sql`]).

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgPoolOptions, PgRow};

use super::StoreError;
use super::sql::{Dialect, sql_store};

/// PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    dialect: Dialect,
}

impl PgStore {
    /// Connects to `url` (`postgres://…`) and migrates.
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(PgStore {
            pool,
            dialect: Dialect::Postgres,
        })
    }

    /// The pool (for the event bus and tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

sql_store!(PgStore, PgRow);
