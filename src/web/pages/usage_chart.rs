//! Server-rendered SVG of a token's use (no JavaScript): a bar chart of
//! exchanges and refusals per day for the detail page, and a sparkline for
//! listings. Only numbers and dates go into the markup.

use crate::audit::usage::Usage;
use std::fmt::Write;

const WIDTH: usize = 600;
const HEIGHT: usize = 120;
const AXIS: usize = 16;
/// Room above the bars for the busiest day's label.
const TOP: i64 = 14;

/// The 30-day bar chart: exchanges (accent) with refusals stacked on top
/// (red), a title per day, and the busiest day's count.
pub fn bar_chart(usage: &Usage) -> String {
    let peak = usage
        .days
        .iter()
        .map(|d| d.exchanged + d.denied)
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = WIDTH / usage.days.len().max(1);
    let plot = (HEIGHT - AXIS) as i64 - TOP;
    let mut svg = format!(
        r#"<svg class="usage-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="Exchanges per day, last {} days" xmlns="http://www.w3.org/2000/svg">"#,
        usage.days.len()
    );
    for (i, day) in usage.days.iter().enumerate() {
        let x = i * slot + 1;
        let ok_h = day.exchanged * plot / peak;
        let bad_h = day.denied * plot / peak;
        let _ = write!(
            svg,
            r#"<g><title>{}: {} exchanges, {} refused</title><rect class="ok" x="{x}" y="{}" width="{}" height="{ok_h}"/><rect class="refused" x="{x}" y="{}" width="{}" height="{bad_h}"/></g>"#,
            day.date,
            day.exchanged,
            day.denied,
            TOP + plot - ok_h,
            slot - 2,
            TOP + plot - ok_h - bad_h,
            slot - 2,
        );
    }
    let (first, last) = (usage.days.first(), usage.days.last());
    if let (Some(first), Some(last)) = (first, last) {
        let _ = write!(
            svg,
            r#"<text x="0" y="{HEIGHT}" class="axis">{}</text><text x="{WIDTH}" y="{HEIGHT}" text-anchor="end" class="axis">{}</text><text x="0" y="10" class="axis">max {peak}/day</text>"#,
            first.date, last.date
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A 100 × 20 sparkline of exchanges per day.
pub fn sparkline(usage: &Usage) -> String {
    let peak = usage
        .days
        .iter()
        .map(|d| d.exchanged)
        .max()
        .unwrap_or(0)
        .max(1);
    let step = 100.0 / (usage.days.len().max(2) - 1) as f64;
    let points: Vec<String> = usage
        .days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            format!(
                "{:.1},{:.1}",
                i as f64 * step,
                19.0 - 18.0 * d.exchanged as f64 / peak as f64
            )
        })
        .collect();
    format!(
        r#"<svg class="sparkline" viewBox="0 0 100 20" width="100" height="20" role="img" aria-label="{} exchanges in 30 days" xmlns="http://www.w3.org/2000/svg"><title>{} exchanges in 30 days</title><polyline points="{}"/></svg>"#,
        usage.exchanged(),
        usage.exchanged(),
        points.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::usage::DayCount;
    use chrono::NaiveDate;

    fn usage(counts: &[(i64, i64)]) -> Usage {
        let start = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        Usage {
            days: counts
                .iter()
                .enumerate()
                .map(|(i, (ok, bad))| DayCount {
                    date: start + chrono::Duration::days(i as i64),
                    exchanged: *ok,
                    denied: *bad,
                })
                .collect(),
            denials: Default::default(),
        }
    }

    #[test]
    fn bars_scale_to_the_busiest_day() {
        let svg = bar_chart(&usage(&[(0, 0), (52, 0), (26, 26)]));
        assert!(svg.contains("<title>2026-11-02: 52 exchanges, 0 refused</title>"));
        assert!(
            svg.contains(r#"class="ok" x="201" y="14" width="198" height="90""#),
            "{svg}"
        );
        assert!(
            svg.contains(r#"class="refused" x="401" y="14" width="198" height="45""#),
            "{svg}"
        );
        assert!(svg.contains("max 52/day") && svg.ends_with("</svg>"));
        let line = sparkline(&usage(&[(0, 0), (10, 0), (5, 0)]));
        assert!(
            line.contains(r#"points="0.0,19.0 50.0,1.0 100.0,10.0""#),
            "{line}"
        );
        assert!(
            bar_chart(&usage(&[(0, 0)])).contains("max 1/day"),
            "no division by zero"
        );
    }
}
