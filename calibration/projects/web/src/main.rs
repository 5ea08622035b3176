use axum::{extract::Path, routing::get, Json, Router};
use clap::Parser;
use serde::{Deserialize, Serialize};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: String,
    #[arg(long)]
    once: bool,
}

#[derive(Serialize, Deserialize)]
struct Greeting {
    name: String,
    valid: bool,
}

async fn greet(Path(name): Path<String>) -> Json<Greeting> {
    let valid = regex::Regex::new(r"^[a-z]+$").unwrap().is_match(&name);
    tracing::info!(%name, valid, "greeting");
    Json(Greeting { name, valid })
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let app = Router::new().route("/hello/{name}", get(greet));
    let listener = tokio::net::TcpListener::bind(&args.listen).await.unwrap();
    if args.once {
        println!("{}", serde_json::to_string(&Greeting { name: "x".into(), valid: true }).unwrap());
        return;
    }
    axum::serve(listener, app).await.unwrap();
}
