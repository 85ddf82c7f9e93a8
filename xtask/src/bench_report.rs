//! `cargo xtask bench report`: placeholder.
use anyhow::Result;
pub fn bench_report(_n: usize) -> Result<()> {
    Ok(())
}
