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

/// `text` for a terminal: control characters, bidirectional controls and
/// zero-width characters written as visible `\u{…}` escapes, so a name
/// stored before they were refused cannot reorder or hide what a table
/// shows (Trojan Source).
pub fn safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || crate::policy::rules::is_hidden_character(c) {
                format!("\\u{{{:04X}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A cell for a JSON value: a string as is, an array of strings joined
/// with `separator`, `-` for null or an empty array.
pub fn cell(v: &Value, separator: &str) -> String {
    match v {
        Value::Null => "-".to_string(),
        Value::String(s) => safe(s),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_are_shown_escaped() {
        assert_eq!(safe("deploy"), "deploy");
        assert_eq!(safe("invoice\u{202E}fdp.exe"), "invoice\\u{202E}fdp.exe");
        assert_eq!(safe("a\u{200B}b\tc"), "a\\u{200B}b\\u{0009}c");
    }
}
