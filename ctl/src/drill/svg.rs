//! The SVG timeline of a drill, drawn with plotters' SVG backend: on top each serving
//! cluster's share of the successful probes (stacked, per 100 ms bucket), below the
//! successful and failed probes per bucket; the fault and the restore marked on both.
//!
//! plotters is built without its font stack (no `ttf`): text is emitted as SVG `<text>`
//! elements for the viewer to lay out with its own fonts, and plotters only estimates
//! their size for placement. That is all a timeline needs.

use plotters::{
    coord::Shift,
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::{render::serving_clusters, report::DrillReport};

const WIDTH: u32 = 960;
const HEIGHT: u32 = 600;
const FONT: &str = "sans-serif";

/// Colours for the serving clusters, the faulted one first (Okabe-Ito, readable by
/// colour-blind viewers).
const PALETTE: [RGBColor; 6] = [
    RGBColor(213, 94, 0),
    RGBColor(0, 114, 178),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
];
const FAILED: RGBColor = RGBColor(200, 0, 0);
const OK: RGBColor = RGBColor(20, 20, 20);
const MARK: RGBColor = RGBColor(40, 40, 40);

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The SVG document.
pub fn render(report: &DrillReport) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw(report, &root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;
type Failure = Box<dyn std::error::Error>;

fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn draw(report: &DrillReport, root: &Area<'_>) -> Result<(), Failure> {
    root.fill(&WHITE)?;
    let title = format!(
        "{}/{}: {} fault in cluster {} - {}",
        report.namespace, report.name, report.fault, report.cluster, report.verdict
    );
    let (head, body) = root.split_vertically(34);
    head.draw(&Text::new(
        title,
        (12, 10),
        (FONT, 16).into_font().color(&BLACK),
    ))?;
    let (top, bottom) = body.split_vertically((HEIGHT - 34) * 3 / 5);
    let bucket = secs(report.bucket_ms as i64);
    let x = secs(report.started_ms)..secs(report.stopped_ms).max(secs(report.started_ms) + bucket);
    shares(report, &top, x.clone(), bucket)?;
    probes(report, &bottom, x, bucket)?;
    Ok(())
}

/// Stacked share of the successful probes, in percent.
fn shares(
    report: &DrillReport,
    area: &Area<'_>,
    x: std::ops::Range<f64>,
    bucket: f64,
) -> Result<(), Failure> {
    let mut chart = panel(
        area,
        "share of successful probes per serving cluster (%)",
        x,
        100.0,
        "% of ok probes",
    )?;
    let clusters = serving_clusters(report);
    // Cluster i's area reaches up to the sum of the shares of clusters 0..=i; drawn
    // from the top down, each covers the ones above it only where they overlap.
    for (i, cluster) in clusters.iter().enumerate().rev() {
        let points: Vec<(f64, f64)> = report
            .timeline
            .iter()
            .flat_map(|b| {
                let top: f64 = clusters[..=i]
                    .iter()
                    .map(|c| b.share.get(c).copied().unwrap_or_default())
                    .sum::<f64>()
                    * 100.0;
                let t = secs(b.t_ms);
                [(t, top), (t + bucket, top)]
            })
            .collect();
        let fill = colour(i);
        chart
            .draw_series(AreaSeries::new(points, 0.0, fill.mix(0.85)).border_style(fill))?
            .label(cluster.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], fill.filled()));
    }
    marks(report, &mut chart, 100.0)?;
    legend(&mut chart)
}

/// Successful probes as a line, failed ones as bars, per bucket.
fn probes(
    report: &DrillReport,
    area: &Area<'_>,
    x: std::ops::Range<f64>,
    bucket: f64,
) -> Result<(), Failure> {
    let top = report
        .timeline
        .iter()
        .map(|b| b.probes_ok + b.probes_failed)
        .max()
        .unwrap_or(0)
        .max(1) as f64
        * 1.15;
    let mut chart = panel(area, "probes per 100 ms: ok and failed", x, top, "probes")?;
    let ok: Vec<(f64, f64)> = report
        .timeline
        .iter()
        .flat_map(|b| {
            let t = secs(b.t_ms);
            [(t, b.probes_ok as f64), (t + bucket, b.probes_ok as f64)]
        })
        .collect();
    chart
        .draw_series(LineSeries::new(ok, OK.stroke_width(2)))?
        .label("ok")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 12, y)], OK));
    chart
        .draw_series(
            report
                .timeline
                .iter()
                .filter(|b| b.probes_failed > 0)
                .map(|b| {
                    let t = secs(b.t_ms);
                    Rectangle::new(
                        [(t, 0.0), (t + bucket, b.probes_failed as f64)],
                        FAILED.filled(),
                    )
                }),
        )?
        .label("failed")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], FAILED.filled()));
    marks(report, &mut chart, top)?;
    legend(&mut chart)
}

/// One panel: its caption, time on x, `0..y_top` on y, and the grid.
fn panel<'a, 'b>(
    area: &'a Area<'b>,
    caption: &str,
    x: std::ops::Range<f64>,
    y_top: f64,
    y_desc: &str,
) -> Result<Chart<'a, 'b>, Failure> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 14))
        .margin(10)
        .margin_right(20)
        .x_label_area_size(30)
        .y_label_area_size(44)
        .build_cartesian_2d(x, 0f64..y_top)?;
    chart
        .configure_mesh()
        .x_desc("seconds since the fault")
        .y_desc(y_desc)
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FONT, 12))
        .light_line_style(WHITE)
        .draw()?;
    Ok(chart)
}

/// The series' legend, top right.
fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>) -> Result<(), Failure> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .margin(4)
        .label_font((FONT, 12))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// Vertical lines at the fault and the restore, labelled above the plot.
fn marks<'a, 'b: 'a>(
    report: &DrillReport,
    chart: &mut Chart<'a, 'b>,
    top: f64,
) -> Result<(), Failure> {
    let label = TextStyle::from((FONT, 12).into_font())
        .color(&MARK)
        .pos(Pos::new(HPos::Left, VPos::Top));
    for (t, name) in [(0.0, "fault"), (secs(report.restore_ms), "restore")] {
        chart.draw_series(DashedLineSeries::new(
            [(t, 0.0), (t, top)],
            6,
            4,
            MARK.stroke_width(2),
        ))?;
        // Offset in pixels from the line's top, so the label does not cross it.
        chart.draw_series(std::iter::once(
            EmptyElement::at((t, top)) + Text::new(name.to_owned(), (4, 2), label.clone()),
        ))?;
    }
    Ok(())
}
