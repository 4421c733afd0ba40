use anyhow::Context;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let settings = anime_chat::config::Settings::load().context("invalid configuration")?;
    let app = anime_chat::startup::Application::build(settings).await?;
    app.run_until_stopped().await.context("server failed")
}
