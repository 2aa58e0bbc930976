//! Writing a run's outputs: rankings (CSV and JSON), metrics (JSON), plots (SVG) and a text
//! summary. Everything is a function of the report alone, so equal reports give equal bytes.

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;

use crate::sim::Report;

/// Why outputs could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// File system.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Encoding.
    #[error("{0}")]
    Encode(String),
}

/// The files a run writes, relative to the output directory.
pub const FILES: [&str; 9] = [
    "rankings.csv",
    "rankings.json",
    "metrics.json",
    "summary.txt",
    "rating_accuracy.svg",
    "capital.svg",
    "strength.svg",
    "gossip_delay.svg",
    "population.svg",
];

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), OutputError> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|source| OutputError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Writes every output into `dir` (created if needed).
pub fn write_all(report: &Report, dir: &Path) -> Result<(), OutputError> {
    std::fs::create_dir_all(dir).map_err(|source| OutputError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut csv = csv::Writer::from_writer(Vec::new());
    for row in &report.rankings {
        csv.serialize(row)
            .map_err(|e| OutputError::Encode(e.to_string()))?;
    }
    let csv = csv
        .into_inner()
        .map_err(|e| OutputError::Encode(e.to_string()))?;
    write(dir, "rankings.csv", &csv)?;
    write(dir, "rankings.json", &to_json(&report.rankings)?)?;
    write(dir, "metrics.json", &to_json(report)?)?;
    write(dir, "summary.txt", summary(report).as_bytes())?;
    plots(report, dir)?;
    Ok(())
}

/// Pretty JSON, newline-terminated.
fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, OutputError> {
    let mut v = serde_json::to_vec_pretty(value).map_err(|e| OutputError::Encode(e.to_string()))?;
    v.push(b'\n');
    Ok(v)
}

fn fmt_opt(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".into(), |v| format!("{v:.3}"))
}

/// The short text summary.
pub fn summary(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "simnet: scenario `{}`, seed {}, {} nodes at genesis ({} ever), {} epochs, protocol {}",
        r.scenario, r.seed, r.initial_nodes, r.total_nodes, r.epochs, r.protocol
    );
    let _ = writeln!(s, "settlement: {}", r.settlement);
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Rating accuracy (Kendall tau-b, consensus ratings vs true skill, honest nodes):"
    );
    let first = r.per_epoch.first();
    let last = r.per_epoch.last();
    let leagues = last.map_or(0, |e| e.kendall_tau.len());
    for li in 0..leagues {
        let series: Vec<String> = r
            .per_epoch
            .iter()
            .map(|e| fmt_opt(e.kendall_tau.get(li).copied().flatten()))
            .collect();
        let _ = writeln!(s, "  league {li}: {}", series.join(" "));
    }
    let _ = writeln!(s);
    let g = &r.gossip;
    let _ = writeln!(
        s,
        "Gossip (mesh degree {}): record delay p50 {} ms, p99 {} ms, max {} ms; {:.3} transmissions per delivered record; {} lazy repairs; {} items synced after partitions or crashes",
        g.mesh_degree,
        g.delay_p50_ms,
        g.delay_p99_ms,
        g.delay_max_ms,
        g.amplification,
        g.repaired,
        g.synced
    );
    let _ = writeln!(
        s,
        "Verification: {} record checks performed by receiving nodes (modelled), {} computed (memoised by record id)",
        g.verifications_modelled, g.verifications_computed
    );
    let _ = writeln!(
        s,
        "Spam: {} junk transmissions, {} junk deliveries, {} forwarded beyond the first hop, {} mesh links pruned",
        g.junk_sent, g.junk_delivered, g.junk_forwarded, g.pruned_links
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Fraud attempts and detections (culprit convicted in the consensus ledger):"
    );
    if r.fraud.attempts.is_empty() {
        let _ = writeln!(s, "  none attempted");
    }
    for (kind, n) in &r.fraud.attempts {
        let d = r.fraud.detected.get(kind).copied().unwrap_or(0);
        let _ = writeln!(s, "  {kind}: {d} of {n} detected");
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Profit by role (mean per node, base units) against honest nodes with the same agent:"
    );
    let _ = writeln!(
        s,
        "  {:<12} {:<12} {:>6} {:>22} {:>22} {:>9} {:>8} {:>7}",
        "role",
        "agent",
        "nodes",
        "profit (± s.e.)",
        "honest same (± s.e.)",
        "convicted",
        "forfeits",
        "active"
    );
    for o in &r.roles {
        let _ = writeln!(
            s,
            "  {:<12} {:<12} {:>6} {:>22} {:>22} {:>9} {:>8} {:>7}",
            o.role,
            o.agent,
            o.nodes,
            format!("{:.0} ± {:.0}", o.mean_profit, o.profit_se),
            format!(
                "{:.0} ± {:.0}",
                o.honest_same_agent_profit, o.honest_same_agent_profit_se
            ),
            o.convicted,
            o.forfeits,
            o.still_active
        );
    }
    let _ = writeln!(s);
    if let (Some(f), Some(l)) = (first, last) {
        let _ = writeln!(
            s,
            "Population strength vs the fixed reference ({}), mean score: epoch 0 {:.3}, epoch {} {:.3}",
            r.reference, f.strength_vs_reference, l.epoch, l.strength_vs_reference
        );
    }
    let spawned: u64 = r.per_epoch.iter().map(|e| e.spawned).sum();
    let broke: u64 = r.per_epoch.iter().map(|e| e.broke).sum();
    let _ = writeln!(
        s,
        "Evolution: {spawned} variants spawned; {broke} nodes dropped out broke"
    );
    let agree = r.final_views.iter().all(|v| v.iter().all(|&d| d <= 1));
    let _ = writeln!(
        s,
        "Agreement: {} (distinct final views per league and epoch among present honest nodes: {:?})",
        if agree {
            "all honest nodes hold identical summaries"
        } else {
            "VIEWS DIFFER"
        },
        r.final_views
    );
    let _ = writeln!(
        s,
        "Settlement: finalised epochs per league {:?}; escrow left {}; money conserved: {}",
        r.finalised_epochs, r.escrow_left, r.money_conserved
    );
    if r.chain_transactions > 0 {
        let _ = writeln!(
            s,
            "Chain: {} transactions, {} gas in all",
            r.chain_transactions, r.chain_gas
        );
    }
    if !r.audit.is_empty() {
        let _ = writeln!(s, "Chain audit: {}", r.audit);
    }
    for note in &r.settlement_notes {
        let _ = writeln!(s, "Chain: {note}");
    }
    s
}

fn draw_err<E: std::fmt::Debug>(e: E) -> OutputError {
    OutputError::Encode(format!("plot: {e:?}"))
}

fn line_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
    y_range: Option<(f64, f64)>,
) -> Result<(), OutputError> {
    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let xs = series.iter().flat_map(|s| s.1.iter().map(|p| p.0));
    let ys = series.iter().flat_map(|s| s.1.iter().map(|p| p.1));
    let (x0, x1) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    let (y0, y1) =
        y_range.unwrap_or_else(|| ys.fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y))));
    let (x0, x1) = if x0 <= x1 {
        (x0, x1.max(x0 + 1.0))
    } else {
        (0.0, 1.0)
    };
    let (y0, y1) = if y0 <= y1 {
        (y0, y1.max(y0 + 1e-9))
    } else {
        (0.0, 1.0)
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .draw()
        .map_err(draw_err)?;
    for (i, (name, points)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(draw_err)?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(draw_err)?;
    root.present().map_err(draw_err)?;
    Ok(())
}

fn plots(r: &Report, dir: &Path) -> Result<(), OutputError> {
    let leagues = r.per_epoch.last().map_or(0, |e| e.kendall_tau.len());
    let tau: Vec<(String, Vec<(f64, f64)>)> = (0..leagues)
        .map(|li| {
            (
                format!("league {li}"),
                r.per_epoch
                    .iter()
                    .filter_map(|e| {
                        Some((e.epoch as f64, e.kendall_tau.get(li).copied().flatten()?))
                    })
                    .collect(),
            )
        })
        .collect();
    line_chart(
        &dir.join("rating_accuracy.svg"),
        "Rating accuracy: Kendall tau-b vs true skill",
        "epoch",
        "tau-b",
        &tau,
        Some((-0.1, 1.0)),
    )?;
    let names = ["p10", "p25", "median", "p75", "p90"];
    let capital: Vec<(String, Vec<(f64, f64)>)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                (*n).to_string(),
                r.per_epoch
                    .iter()
                    .filter_map(|e| {
                        Some((e.epoch as f64, *e.capital_quantiles.get(i)? as f64 / 1e6))
                    })
                    .collect(),
            )
        })
        .collect();
    line_chart(
        &dir.join("capital.svg"),
        "Capital distribution over present nodes",
        "epoch",
        "capital (millions of base units)",
        &capital,
        None,
    )?;
    let strength = vec![(
        format!("mean score vs {}", r.reference),
        r.per_epoch
            .iter()
            .map(|e| (e.epoch as f64, e.strength_vs_reference))
            .collect(),
    )];
    line_chart(
        &dir.join("strength.svg"),
        "Population strength against the fixed reference agent",
        "epoch",
        "mean score share",
        &strength,
        Some((0.0, 1.0)),
    )?;
    let cdf = vec![(
        "records".to_string(),
        r.gossip
            .delay_cdf
            .iter()
            .map(|(ms, share)| (*ms as f64, *share))
            .collect(),
    )];
    line_chart(
        &dir.join("gossip_delay.svg"),
        "Gossip propagation delay (CDF over deliveries)",
        "delay (ms)",
        "share delivered",
        &cdf,
        Some((0.0, 1.0)),
    )?;
    let population = vec![
        (
            "present".to_string(),
            r.per_epoch
                .iter()
                .map(|e| (e.epoch as f64, e.present as f64))
                .collect(),
        ),
        (
            "entered".to_string(),
            r.per_epoch
                .iter()
                .map(|e| (e.epoch as f64, e.entrants as f64))
                .collect(),
        ),
    ];
    line_chart(
        &dir.join("population.svg"),
        "Population",
        "epoch",
        "nodes",
        &population,
        None,
    )?;
    Ok(())
}
