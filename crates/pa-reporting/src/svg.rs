//! Hand-made inline SVG charts (no script, no external reference, every text escaped): the
//! report's latency chart and the trend page's line charts. Sizes are in user units; the
//! `viewBox` lets the page scale them to its width.

use std::fmt::Write;

/// Text safe in HTML/SVG character data and attribute values.
pub fn esc(s: &str) -> String {
    crate::junit::xml_escape(s)
}

/// Round `v` up to a "nice" axis maximum (1, 2, 2.5, 5 × 10^k).
pub fn nice_max(v: f64) -> f64 {
    if !(v > 0.0) || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * p >= v {
            return m * p;
        }
    }
    10.0 * p
}

/// A number for an axis or a label: at most 3 decimals, no trailing zeros.
pub fn num(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

/// One bar of a horizontal bar chart.
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// A CSS colour.
    pub color: &'static str,
    /// Tooltip.
    pub title: String,
}

/// A labelled vertical marker line (percentile, threshold).
pub struct Marker {
    pub label: String,
    pub value: f64,
    pub color: &'static str,
}

const W: f64 = 960.0;
const LABEL_W: f64 = 260.0;
const RIGHT: f64 = 70.0;

/// A horizontal bar chart with markers; `unit` is appended to values (`s`).
pub fn hbars(title: &str, bars: &[Bar], markers: &[Marker], unit: &str) -> String {
    let row = 22.0;
    let top = 34.0;
    let plot_w = W - LABEL_W - RIGHT;
    let h = top + row * bars.len() as f64 + 34.0;
    let vmax = nice_max(
        bars.iter()
            .map(|b| b.value)
            .chain(markers.iter().map(|m| m.value))
            .fold(0.0, f64::max),
    );
    let x = |v: f64| LABEL_W + plot_w * (v / vmax).clamp(0.0, 1.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {W} {h}" role="img" aria-label="{}">"#,
        esc(title)
    );
    // Grid and axis ticks.
    for i in 0..=5 {
        let v = vmax * i as f64 / 5.0;
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{y1}" x2="{x:.1}" y2="{y2}" stroke="#e5e7eb"/><text x="{x:.1}" y="{ty}" text-anchor="middle" class="tick">{}{unit}</text>"##,
            num(v),
            x = x(v),
            y1 = top - 6.0,
            y2 = h - 26.0,
            ty = h - 10.0
        );
    }
    for (i, b) in bars.iter().enumerate() {
        let y = top + row * i as f64;
        let label: String = if b.label.chars().count() > 40 {
            format!("{}…", b.label.chars().take(39).collect::<String>())
        } else {
            b.label.clone()
        };
        let _ = write!(
            s,
            r#"<g><title>{}</title><text x="{lx}" y="{ty:.1}" text-anchor="end" class="lbl">{}</text><rect x="{LABEL_W}" y="{ry:.1}" width="{w:.1}" height="{rh}" fill="{}" rx="2"/><text x="{vx:.1}" y="{ty:.1}" class="val">{}{unit}</text></g>"#,
            esc(&b.title),
            esc(&label),
            b.color,
            num(b.value),
            lx = LABEL_W - 8.0,
            ty = y + row * 0.68,
            ry = y + 3.0,
            w = (x(b.value) - LABEL_W).max(1.5),
            rh = row - 6.0,
            vx = x(b.value) + 5.0,
        );
    }
    for (i, m) in markers.iter().enumerate() {
        let mx = x(m.value);
        let _ = write!(
            s,
            r#"<line x1="{mx:.1}" y1="{y1}" x2="{mx:.1}" y2="{y2}" stroke="{c}" stroke-width="2" stroke-dasharray="5 3"/><text x="{tx:.1}" y="{ty}" class="mark" fill="{c}" text-anchor="{anchor}">{}</text>"#,
            esc(&format!("{} {}{unit}", m.label, num(m.value))),
            c = m.color,
            y1 = top - 6.0,
            y2 = h - 26.0,
            tx = mx,
            ty = 12.0 + 12.0 * (i % 2) as f64,
            anchor = if mx > W - 120.0 { "end" } else { "middle" },
        );
    }
    s.push_str("</svg>");
    s
}

/// One series of a line chart.
pub struct Series {
    pub name: String,
    pub color: &'static str,
    /// One value per x position (`None`: a gap in the line).
    pub values: Vec<Option<f64>>,
}

/// A line chart over `labels` (x positions, e.g. run start dates) with a fixed or computed
/// y maximum; `unit` follows y values (`%`, `s`).
pub fn lines(
    title: &str,
    labels: &[String],
    series: &[Series],
    ymax: Option<f64>,
    unit: &str,
) -> String {
    let (h, left, top, bottom) = (300.0, 60.0, 20.0, 60.0);
    let plot_w = W - left - 30.0;
    let plot_h = h - top - bottom;
    let vmax = ymax.unwrap_or_else(|| {
        nice_max(
            series
                .iter()
                .flat_map(|s| s.values.iter().flatten())
                .fold(0.0, |a: f64, b| a.max(*b)),
        )
    });
    let n = labels.len().max(1);
    let x = |i: usize| {
        if n == 1 {
            left + plot_w / 2.0
        } else {
            left + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| top + plot_h * (1.0 - (v / vmax).clamp(0.0, 1.0));
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {W} {h}" role="img" aria-label="{}">"#,
        esc(title)
    );
    for i in 0..=4 {
        let v = vmax * i as f64 / 4.0;
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{yy:.1}" x2="{x2}" y2="{yy:.1}" stroke="#e5e7eb"/><text x="{tx}" y="{ty:.1}" text-anchor="end" class="tick">{}{unit}</text>"##,
            num(v),
            yy = y(v),
            x2 = left + plot_w,
            tx = left - 6.0,
            ty = y(v) + 4.0
        );
    }
    let step = n.div_ceil(12).max(1);
    for (i, l) in labels.iter().enumerate() {
        if i % step != 0 && i + 1 != n {
            continue;
        }
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle" class="tick">{}</text>"#,
            x(i),
            h - bottom + 18.0,
            esc(l)
        );
    }
    for (k, se) in series.iter().enumerate() {
        let mut path = String::new();
        let mut pen_up = true;
        for (i, v) in se.values.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(
                        path,
                        "{}{:.1},{:.1} ",
                        if pen_up { "M" } else { "L" },
                        x(i),
                        y(*v)
                    );
                    pen_up = false;
                }
                None => pen_up = true,
            }
        }
        let _ = write!(
            s,
            r#"<path d="{}" fill="none" stroke="{c}" stroke-width="2.5"/>"#,
            path.trim_end(),
            c = se.color
        );
        for (i, v) in se.values.iter().enumerate() {
            if let Some(v) = v {
                let _ = write!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{c}"><title>{}</title></circle>"#,
                    x(i),
                    y(*v),
                    esc(&format!(
                        "{}: {} {}{unit}",
                        labels.get(i).map(String::as_str).unwrap_or(""),
                        se.name,
                        num(*v)
                    )),
                    c = se.color
                );
            }
        }
        let _ = write!(
            s,
            r#"<rect x="{lx}" y="{ly}" width="14" height="4" fill="{c}"/><text x="{tx}" y="{ty}" class="lbl">{}</text>"#,
            esc(&se.name),
            c = se.color,
            lx = left + 160.0 * k as f64,
            ly = h - 18.0,
            tx = left + 160.0 * k as f64 + 20.0,
            ty = h - 12.0
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_are_round_and_text_is_escaped() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.3), 10.0);
        assert_eq!(nice_max(130.0), 200.0);
        assert_eq!(nice_max(2.2), 2.5);
        let svg = hbars(
            "t<",
            &[Bar {
                label: "<script>".into(),
                value: 3.0,
                color: "#000",
                title: "a&b".into(),
            }],
            &[Marker {
                label: "p95".into(),
                value: 3.0,
                color: "#111",
            }],
            " s",
        );
        assert!(svg.contains("&lt;script&gt;") && !svg.contains("<script>"));
        assert!(!svg.contains("http"));
        let l = lines(
            "x",
            &["a".into(), "b".into()],
            &[Series {
                name: "c".into(),
                color: "#000",
                values: vec![Some(1.0), None],
            }],
            Some(1.0),
            "%",
        );
        assert!(l.contains("M"));
    }
}
