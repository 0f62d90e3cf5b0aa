//! The CLI's listings: a JSON array, or aligned columns under a header.

use serde_json::Value;

/// `rows` under `header` in aligned columns, one line each (no trailing
/// spaces); cells are never cut.
pub fn aligned<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> Vec<String> {
    let header = header.map(String::from);
    let widths: Vec<usize> = (0..N)
        .map(|i| {
            rows.iter()
                .chain([&header])
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    std::iter::once(&header)
        .chain(rows)
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect()
}

/// A cell for a JSON value: a string as is, an array of strings joined
/// with `separator`, `-` for null or an empty array.
pub fn cell(v: &Value, separator: &str) -> String {
    match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "-".to_string(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(separator),
        other => other.to_string(),
    }
}

/// Prints `rows` as pretty JSON when `json`, else as a table of the cells
/// `columns` makes of each row under `header`.
pub fn print<const N: usize>(
    json: bool,
    rows: &[Value],
    header: [&str; N],
    columns: impl Fn(&Value) -> [String; N],
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(rows)?);
        return Ok(());
    }
    let cells: Vec<[String; N]> = rows.iter().map(columns).collect();
    for line in aligned(header, &cells) {
        println!("{line}");
    }
    Ok(())
}
