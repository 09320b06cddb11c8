//! Multi-row statements: how many rows go in one `INSERT` and the
//! placeholders of its `VALUES` list.

use sqlx::AnyConnection;

/// Rows per multi-row `INSERT` on PostgreSQL: well under its bind-parameter
/// limit, and few round trips.
const POSTGRES_ROWS_PER_STATEMENT: usize = 400;

/// Rows per multi-row `INSERT` on SQLite. sqlx-sqlite looks each `$N` up by
/// name (`sqlite3_bind_parameter_name`), which walks the statement's list of
/// parameters, so binding a statement costs the square of its parameter
/// count: at 400 rows (5,200 parameters) that lookup took 60% of a batched
/// write's time (docs/PERFORMANCE.md, "What limits the storage path").
/// Statements run in-process on SQLite, so many small ones cost little.
const SQLITE_ROWS_PER_STATEMENT: usize = 16;

/// Rows per multi-row `INSERT` written with anonymous placeholders on SQLite
/// (binding them costs no lookup): as many as on PostgreSQL.
pub(super) const ANONYMOUS_ROWS_PER_STATEMENT: usize = POSTGRES_ROWS_PER_STATEMENT;

/// How many rows one multi-row `INSERT` on `connection`'s backend carries.
pub(super) fn rows_per_statement(connection: &AnyConnection) -> usize {
    if is_sqlite(connection) {
        SQLITE_ROWS_PER_STATEMENT
    } else {
        POSTGRES_ROWS_PER_STATEMENT
    }
}

/// Whether `connection` is SQLite's.
pub(super) fn is_sqlite(connection: &AnyConnection) -> bool {
    connection.backend_name().eq_ignore_ascii_case("sqlite")
}

/// `($1, …, $c), ($c+1, …)`: the placeholders of `rows` rows of `columns`
/// values, bound in that order. `anonymous` writes `?` instead, which
/// SQLite binds without looking a name up (see [`SQLITE_ROWS_PER_STATEMENT`]).
pub(super) fn values_list(rows: usize, columns: usize, anonymous: bool) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=columns)
                .map(|c| {
                    if anonymous {
                        "?".to_owned()
                    } else {
                        format!("${}", r * columns + c)
                    }
                })
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
