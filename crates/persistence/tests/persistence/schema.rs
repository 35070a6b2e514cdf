//! The two migration folders must produce the same tables and columns.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use persistence::testing::TestDatabase;

use crate::raw::{self, RawConnection};

/// Table name → column name → nullable.
type Columns = BTreeMap<String, BTreeMap<String, bool>>;

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[derive(QueryableByName)]
struct SqliteTable {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    notnull: i64,
    #[diesel(sql_type = BigInt)]
    pk: i64,
}

#[derive(QueryableByName)]
struct IndexName {
    #[diesel(sql_type = Text)]
    name: String,
}

fn postgres_columns(conn: &mut RawConnection) -> Columns {
    let rows: Vec<PgColumn> = diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name, \
         is_nullable::text AS is_nullable \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load(conn)
    .expect("read information_schema");
    let mut columns = Columns::new();
    for row in rows {
        columns
            .entry(row.table_name)
            .or_default()
            .insert(row.column_name, row.is_nullable == "YES");
    }
    columns
}

fn sqlite_columns(conn: &mut RawConnection) -> Columns {
    let tables: Vec<SqliteTable> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'",
    )
    .load(conn)
    .expect("read sqlite_master");
    let mut columns = Columns::new();
    for table in tables {
        let rows: Vec<SqliteColumn> = diesel::sql_query(format!(
            "SELECT name, \"notnull\", pk FROM pragma_table_info('{}')",
            table.name
        ))
        .load(conn)
        .expect("read pragma_table_info");
        // An INTEGER PRIMARY KEY is never NULL, though SQLite does not report it NOT NULL.
        let table_columns = rows
            .into_iter()
            .map(|column| (column.name, column.notnull == 0 && column.pk == 0))
            .collect();
        columns.insert(table.name, table_columns);
    }
    columns
}

fn postgres_indexes(conn: &mut RawConnection) -> Vec<String> {
    let rows: Vec<IndexName> = diesel::sql_query(
        "SELECT indexname::text AS name FROM pg_indexes \
         WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' \
         AND tablename <> '__diesel_schema_migrations' ORDER BY 1",
    )
    .load(conn)
    .expect("read pg_indexes");
    rows.into_iter().map(|row| row.name).collect()
}

fn sqlite_indexes(conn: &mut RawConnection) -> Vec<String> {
    // Named UNIQUE constraints show up as automatic indexes, so they are read from the tables.
    let rows: Vec<IndexName> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
         UNION SELECT 'users_username_key' FROM sqlite_master \
           WHERE name = 'users' AND sql LIKE '%CONSTRAINT users_username_key UNIQUE%' \
         UNION SELECT 'profiles_user_id_key' FROM sqlite_master \
           WHERE name = 'profiles' AND sql LIKE '%CONSTRAINT profiles_user_id_key UNIQUE%' \
         UNION SELECT 'refresh_tokens_jti_key' FROM sqlite_master \
           WHERE name = 'refresh_tokens' AND sql LIKE '%CONSTRAINT refresh_tokens_jti_key UNIQUE%' \
         ORDER BY 1",
    )
    .load(conn)
    .expect("read sqlite_master");
    rows.into_iter().map(|row| row.name).collect()
}

#[test]
#[cfg_attr(not(postgres_tests), ignore = "needs TEST_POSTGRES_URL")]
fn both_migration_folders_create_the_same_tables_columns_and_indexes() {
    let Some(postgres) = crate::postgres_or_skip() else {
        return;
    };
    let sqlite = TestDatabase::sqlite();
    let mut pg = raw::connect(&postgres);
    let mut lite = raw::connect(&sqlite);

    let pg_columns = postgres_columns(&mut pg);
    assert_eq!(
        pg_columns.keys().collect::<Vec<_>>(),
        [
            "auth_events",
            "login_throttle_accounts",
            "login_throttle_addresses",
            "outbox",
            "profiles",
            "refresh_tokens",
            "sessions",
            "users"
        ]
    );
    assert_eq!(pg_columns, sqlite_columns(&mut lite));
    assert_eq!(postgres_indexes(&mut pg), sqlite_indexes(&mut lite));
}

#[test]
fn migrations_apply_once() {
    let sqlite = TestDatabase::sqlite();
    assert_eq!(
        sqlite.database().run_migrations().expect("migrated"),
        Vec::<String>::new()
    );
    if let Some(postgres) = crate::postgres_or_skip() {
        assert_eq!(
            postgres.database().run_migrations().expect("migrated"),
            Vec::<String>::new()
        );
    }
}

const POSTGRES_MIGRATIONS: diesel_migrations::EmbeddedMigrations =
    diesel_migrations::embed_migrations!("../../migrations/postgres");
const SQLITE_MIGRATIONS: diesel_migrations::EmbeddedMigrations =
    diesel_migrations::embed_migrations!("../../migrations/sqlite");

fn revert_all(conn: &mut RawConnection) -> usize {
    use diesel_migrations::MigrationHarness;
    match conn {
        RawConnection::Postgres(pg) => pg.revert_all_migrations(POSTGRES_MIGRATIONS),
        RawConnection::Sqlite(lite) => lite.revert_all_migrations(SQLITE_MIGRATIONS),
    }
    .expect("reverted")
    .len()
}

fn apply_all(conn: &mut RawConnection) -> usize {
    use diesel_migrations::MigrationHarness;
    match conn {
        RawConnection::Postgres(pg) => pg.run_pending_migrations(POSTGRES_MIGRATIONS),
        RawConnection::Sqlite(lite) => lite.run_pending_migrations(SQLITE_MIGRATIONS),
    }
    .expect("applied")
    .len()
}

/// Reverts every migration, newest first, checks that no table of ours is left, then applies them
/// again and checks that the schema is what it was.
fn every_migration_reverts_and_applies_again(database: &TestDatabase) {
    let mut conn = raw::connect(database);
    let schema = |conn: &mut RawConnection| match conn {
        RawConnection::Postgres(_) => (postgres_columns(conn), postgres_indexes(conn)),
        RawConnection::Sqlite(_) => (sqlite_columns(conn), sqlite_indexes(conn)),
    };
    let before = schema(&mut conn);
    let reverted = revert_all(&mut conn);
    assert!(reverted >= 4, "{reverted} migrations reverted");
    assert_eq!(
        schema(&mut conn),
        (Columns::new(), Vec::new()),
        "every table is gone"
    );
    assert_eq!(apply_all(&mut conn), reverted);
    assert_eq!(schema(&mut conn), before);
}

#[test]
fn every_sqlite_migration_reverts_and_applies_again() {
    every_migration_reverts_and_applies_again(&TestDatabase::sqlite());
}

#[test]
#[cfg_attr(not(postgres_tests), ignore = "needs TEST_POSTGRES_URL")]
fn every_postgres_migration_reverts_and_applies_again() {
    if let Some(postgres) = crate::postgres_or_skip() {
        every_migration_reverts_and_applies_again(&postgres);
    }
}
