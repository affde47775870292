//! A fresh PostgreSQL schema per test, on the server this machine runs for tests
//! (127.0.0.1:5432, trust auth, database `test`), dropped with its staging schema when the
//! test ends.

use std::sync::atomic::{AtomicU32, Ordering};

use postgres::{Client, NoTls};

/// The test server's connection string (`DLTRS_TEST_POSTGRES` overrides it).
pub fn url() -> String {
    std::env::var("DLTRS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgresql://root@127.0.0.1:5432/test".into())
}

/// A dataset name no other test uses, and a connection to read it back.
pub struct TestSchema {
    /// The dataset (schema) name.
    pub name: String,
    /// A connection to the test database.
    pub client: Client,
}

impl TestSchema {
    /// A new, unused schema name `dltrs_<prefix>_<pid>_<n>_<nanos>` (nothing is created yet;
    /// keep `prefix` short: with `_staging` the name must fit PostgreSQL's 63 characters).
    ///
    /// # Panics
    ///
    /// When the server cannot be reached: the test cannot run without it.
    #[allow(clippy::expect_used)]
    pub fn new(prefix: &str) -> TestSchema {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "dltrs_{prefix}_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let client = Client::connect(&url(), NoTls).expect("PostgreSQL on 127.0.0.1:5432");
        let mut schema = TestSchema { name, client };
        schema.drop_schemas();
        schema
    }

    /// The rows of `sql`, each column read as text (`NULL` as `None`).
    ///
    /// # Panics
    ///
    /// On a query error: a failed query is a failed test.
    #[allow(clippy::expect_used)]
    pub fn rows(&mut self, sql: &str) -> Vec<Vec<Option<String>>> {
        let sql = format!("SELECT * FROM ({sql}) AS q");
        let messages = self.client.simple_query(&sql).expect("query");
        messages
            .into_iter()
            .filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_owned))
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    }

    /// The first column of the first row of `sql`, as text.
    ///
    /// # Panics
    ///
    /// When there is no such row or value.
    #[allow(clippy::expect_used)]
    pub fn scalar(&mut self, sql: &str) -> String {
        self.rows(sql)
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next().flatten())
            .expect("a value")
    }

    fn drop_schemas(&mut self) {
        let _ = self.client.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS \"{0}\" CASCADE; DROP SCHEMA IF EXISTS \"{0}_staging\" CASCADE",
            self.name
        ));
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        self.drop_schemas();
    }
}
