//! `waystation import`: a union's sheet (.xlsx, .csv) or a GeoJSON file into the
//! database, through the registry like an import over HTTP. Exits 0 when every row
//! was accepted, 3 when some were rejected (the others applied), 2 on a usage or
//! file error, so that a script can tell the three apart.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::db::DbArg;
use crate::import::{Format, Options};
use crate::index::Atlas;
use crate::registry::{self, Published, Registry};

#[derive(clap::Args)]
pub(super) struct ImportArgs {
    #[command(flatten)]
    db: DbArg,
    /// Seed directory, used only if the database does not exist yet [default: `data`
    /// of the settings, else geodata].
    #[arg(long)]
    data: Option<PathBuf>,
    /// The layer the rows belong to.
    #[arg(long)]
    layer: String,
    /// The coordinate system of the file: wgs84, cgcs2000, gcj02 (Amap, Tencent), bd09 (Baidu).
    #[arg(long)]
    crs: String,
    /// The `source` given to the imported features (default: import).
    #[arg(long)]
    source: Option<String>,
    /// The sheet of an .xlsx file (default: the first).
    #[arg(long)]
    sheet: Option<String>,
    /// Column names, overriding the recognised headers: 'name=站点名称,lon=东经,…'.
    #[arg(long)]
    map: Option<String>,
    /// Report what would happen; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// The file.
    file: PathBuf,
}

/// `waystation import`: exit 0 all accepted, 3 some rejected, 2 usage or file error.
pub(super) fn import(args: &ImportArgs) -> ExitCode {
    match run_import(args) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(3),
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

/// Runs an import; the number of rejected rows.
fn run_import(args: &ImportArgs) -> Result<usize, String> {
    let layer = args.layer.parse().map_err(|e| format!("--layer: {e}"))?;
    let crs = args.crs.parse().map_err(|e| format!("--crs: {e}"))?;
    let format = Format::from_path(&args.file)
        .ok_or_else(|| format!("{}: not .xlsx, .csv or .geojson", args.file.display()))?;
    let map = match &args.map {
        Some(m) => Options::parse_map(m).map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    let bytes = std::fs::read(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let settings = args.db.settings(args.data.clone())?;
    let db = DbArg::database(&settings);
    let seed = settings.data_dir();
    let (store, data, _, generation) = registry::open(&db, &seed).map_err(|e| e.to_string())?;
    // The registry matches rows to the current features (same name and place)
    // through the published atlas; nothing is served from it here.
    let published = Published::default();
    published.store(Some(Arc::new(Atlas::new(data))));
    let registry = Registry::new(store, published, generation, &seed);
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let file_name = args.file.file_name().and_then(|n| n.to_str());
    let request = registry::ImportRequest {
        who: "waystation import",
        bytes: &bytes,
        format,
        file_name,
        options: Options {
            layer,
            crs,
            source: args.source.clone(),
            sheet: args.sheet.clone(),
            map,
            today: registry::today(),
        },
        crs_label: &args.crs,
        dry_run: args.dry_run,
        city: None,
    };
    let (summary, rows) = registry
        .import(&request, &mut |done, total| {
            if let Some(bar) = &bar {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
        })
        .map_err(|e| e.to_string())?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    for r in rows
        .iter()
        .filter(|r| r.status == "rejected" || !r.warnings.is_empty())
    {
        if r.status == "rejected" {
            println!("row {}: rejected: {}", r.row, r.reason);
        }
        for w in &r.warnings {
            println!("row {}: warning: {w}", r.row);
        }
    }
    println!(
        "import {}{}: {} rows: {} accepted, {} updated, {} unchanged, {} rejected",
        summary.id,
        if summary.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        },
        summary.rows,
        summary.accepted,
        summary.updated,
        summary.unchanged,
        summary.rejected
    );
    Ok(summary.rejected)
}
