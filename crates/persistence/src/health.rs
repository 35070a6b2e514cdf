//! `HealthProbe` over diesel.

use application::ports::{HealthProbe, RepositoryError};
use diesel::RunQueryDsl;

use crate::database::Database;

/// Answers whether a pooled connection can run `SELECT 1`.
#[derive(Debug, Clone)]
pub struct DieselHealthProbe {
    db: Database,
}

impl DieselHealthProbe {
    pub(crate) fn new(db: Database) -> Self {
        Self { db }
    }
}

impl HealthProbe for DieselHealthProbe {
    fn check(&self) -> Result<(), RepositoryError> {
        self.db
            .run(|conn| diesel::sql_query("SELECT 1").execute(conn))?;
        Ok(())
    }
}
