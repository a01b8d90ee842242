//! What the timed examples share.

use std::time::{Duration, Instant};

use datafusion::error::Result;
use datafusion::prelude::SessionContext;

/// Runs `sql` `runs` times: the sorted run times and the first result
/// row's text.
pub async fn time(ctx: &SessionContext, sql: &str, runs: usize) -> Result<(Vec<Duration>, String)> {
    let mut times = Vec::new();
    let mut answer = String::new();
    for _ in 0..runs {
        let started = Instant::now();
        let batches = ctx.sql(sql).await?.collect().await?;
        times.push(started.elapsed());
        answer = datafusion::arrow::util::pretty::pretty_format_batches(&batches)?
            .to_string()
            .lines()
            .nth(3)
            .unwrap_or_default()
            .to_string();
    }
    times.sort();
    Ok((times, answer))
}
