use datafusion::prelude::*;

#[tokio::main]
async fn main() -> datafusion::error::Result<()> {
    let ctx = SessionContext::new();
    let df = ctx.sql("SELECT 1 + 2 AS three").await?;
    df.show().await?;
    Ok(())
}
