//! Multi-row statements: how many rows go in one `INSERT` and the
//! placeholders of its `VALUES` list.

use sqlx::AnyConnection;

use super::backend::Backend;

/// Rows per multi-row `INSERT` on PostgreSQL: well under its bind-parameter
/// limit, and few round trips.
const POSTGRES_ROWS_PER_STATEMENT: usize = 400;

/// Rows per multi-row `INSERT` on SQLite, written with anonymous
/// placeholders: as many as on PostgreSQL. Numbered ones (`$N`) would cost
/// the square of the statement's size: sqlx-sqlite looks each `$N` up by
/// name (`sqlite3_bind_parameter_name`), which walks the statement's list
/// of parameters, and at 400 rows (5,200 parameters) that lookup took 60%
/// of a batched write's time (docs/PERFORMANCE.md, "What limits the
/// storage path"). Binding `?` costs no lookup.
pub(super) const ANONYMOUS_ROWS_PER_STATEMENT: usize = POSTGRES_ROWS_PER_STATEMENT;

/// For rows whose statement may take anonymous placeholders: whether it
/// does on `connection`'s backend (SQLite's; binding `?` costs no lookup),
/// and how many rows a statement then carries.
pub(super) fn anonymous_rows(connection: &AnyConnection) -> (bool, usize) {
    if is_sqlite(connection) {
        (true, ANONYMOUS_ROWS_PER_STATEMENT)
    } else {
        (false, POSTGRES_ROWS_PER_STATEMENT)
    }
}

/// Whether `connection` is SQLite's.
fn is_sqlite(connection: &AnyConnection) -> bool {
    connection.backend_name().eq_ignore_ascii_case("sqlite")
}

/// Which backend `connection` talks to.
pub(super) fn backend_of(connection: &AnyConnection) -> Backend {
    if is_sqlite(connection) {
        Backend::Sqlite
    } else {
        Backend::Postgres
    }
}

/// `($1, …, $c), ($c+1, …)`: the placeholders of `rows` rows of `columns`
/// values, bound in that order. `anonymous` writes `?` instead, which
/// SQLite binds without looking a name up (see [`ANONYMOUS_ROWS_PER_STATEMENT`]).
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

/// Ids looked up by one `IN (…)` list: few round trips for a batch (a
/// dispatch round's 500 events, a group commit's 256 jobs), well under
/// either backend's parameter limit.
pub(super) const IDS_PER_STATEMENT: usize = 250;

/// The placeholders of an `IN` list of `count` ids, `$1` onwards:
/// anonymous on SQLite, which binds them without a lookup by name (see
/// [`ANONYMOUS_ROWS_PER_STATEMENT`]).
pub(super) fn id_list(backend: Backend, count: usize) -> String {
    (1..=count)
        .map(|n| match backend {
            Backend::Sqlite => "?".to_owned(),
            Backend::Postgres => format!("${n}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists_number_placeholders_on_postgres_and_leave_them_anonymous_on_sqlite() {
        assert_eq!(id_list(Backend::Postgres, 3), "$1, $2, $3");
        assert_eq!(id_list(Backend::Sqlite, 3), "?, ?, ?");
        assert_eq!(id_list(Backend::Postgres, 1), "$1");
    }
}
