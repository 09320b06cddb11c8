//! Multi-row statements: how many rows go in one `INSERT` and the
//! placeholders of its `VALUES` list.

/// Rows per multi-row `INSERT`: well under both backends' bind-parameter limits.
pub(super) const ROWS_PER_STATEMENT: usize = 400;

/// `($1, …, $c), ($c+1, …)`: the placeholders of `rows` rows of `columns` values.
pub(super) fn values_list(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=columns)
                .map(|c| format!("${}", r * columns + c))
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
