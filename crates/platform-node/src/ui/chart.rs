//! The weights chart: each of the top uids' share of a mechanism's agreed vector, epoch by
//! epoch, drawn as SVG on the server with `plotters` (no script, no external asset).

use plotters::prelude::*;

use super::weights::Weights;

/// Uids drawn: the largest in the newest vector.
pub(crate) const TOP_UIDS: usize = 8;

const PALETTE: [RGBColor; TOP_UIDS] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// The uids charted for `mechanism`: the [`TOP_UIDS`] largest weights of the newest epoch that
/// has the mechanism, largest first (ties: lower uid first).
pub(crate) fn top_uids(weights: &Weights, mechanism: u8) -> Vec<u16> {
    let Some(newest) = weights.epochs.iter().find_map(|e| e.mechanisms.iter().find(|m| m.mechanism == mechanism))
    else {
        return Vec::new();
    };
    let mut pairs = newest.weights.clone();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    pairs.into_iter().take(TOP_UIDS).map(|(uid, _)| uid).collect()
}

/// The SVG chart of `mechanism`'s weights over the epochs in `weights`, `width` × `height` px.
pub(crate) fn weights_svg(weights: &Weights, mechanism: u8, width: u32, height: u32) -> Result<String, String> {
    let uids = top_uids(weights, mechanism);
    // Oldest first; each point is (epoch, share in percent).
    let mut series: Vec<Vec<(u64, f64)>> = vec![Vec::new(); uids.len()];
    for epoch in weights.epochs.iter().rev() {
        for (i, uid) in uids.iter().enumerate() {
            if let Some(share) = epoch.share_ppb(mechanism, *uid) {
                series[i].push((epoch.epoch, share as f64 / 1e7));
            }
        }
    }
    let first = weights.epochs.last().map_or(0, |e| e.epoch);
    let last = weights.epochs.first().map_or(1, |e| e.epoch).max(first + 1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(44)
            .build_cartesian_2d(first..last, 0f64..100f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("weight %")
            .x_labels(8)
            .y_labels(6)
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (uid, points)) in uids.iter().zip(series).enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            // Dots as well as lines: a single epoch is a point, not a line.
            chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled()))).map_err(|e| e.to_string())?;
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(format!("uid {uid}"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
        }
        if !uids.is_empty() {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}
