//! `guild`: the Guild server and its operational commands.

use std::io::Write;
use std::process::ExitCode;

use guild_api::{Config, openapi, server, telemetry};

// mimalloc: per-thread free lists suit a server that allocates and frees small buffers on every
// request; on the leaderboard benchmark glibc's malloc and free took about a tenth of the
// server's CPU.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "\
usage: guild <command>

commands:
  serve     run the HTTP API (and the background worker unless GUILD_RUN_WORKER=false)
  worker    run only the background worker (outbox events, jobs, schedules)
  migrate   apply pending database migrations
  bootstrap create (or promote) the platform owner:
              guild bootstrap --email E [--name N]   (password from GUILD_BOOTSTRAP_PASSWORD,
              or --password P; email and name also from GUILD_BOOTSTRAP_EMAIL / _NAME)
  seed-demo create the demo tenant if the database has no tenant (development only)
  seed-bench
            load the benchmark data set (large tenant `bench` and 100 small ones):
              guild seed-bench [--seed N] [--scale F]   (F = 0.01 is a smoke-test size)
  bench-tokens
            print `user_id<TAB>access token` for bench members user<FROM>…:
              guild bench-tokens FROM COUNT   (needs the server's GUILD_JWT_SECRET)
  rekey     re-seal every secret kept at rest (coaching notes, webhook and SSO secrets) under the
            first key of GUILD_ENCRYPTION_KEYS; run it after putting a new key first
  openapi   print the OpenAPI document to stdout
  help      show this message

Configuration comes from environment variables; see the README or .env.example.";

fn say(out: &mut dyn Write, text: &str) -> ExitCode {
    if writeln!(out, "{text}").is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

#[actix_web::main]
async fn main() -> ExitCode {
    let command = std::env::args().nth(1).unwrap_or_default();
    match command.as_str() {
        "openapi" => return say(&mut std::io::stdout(), openapi::spec_json().trim_end()),
        "help" | "--help" | "-h" => return say(&mut std::io::stdout(), USAGE),
        "serve" | "worker" | "migrate" | "bootstrap" | "seed-demo" | "seed-bench"
        | "bench-tokens" | "rekey" => {}
        other => {
            let problem = if other.is_empty() {
                "a command is required".to_owned()
            } else {
                format!("unknown command {other:?}")
            };
            say(
                &mut std::io::stderr(),
                &format!("guild: {problem}\n\n{USAGE}"),
            );
            return ExitCode::from(2);
        }
    }

    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            say(&mut std::io::stderr(), &format!("guild: {err}"));
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config.log_filter, config.log_json);

    let outcome =
        match command.as_str() {
            "serve" => server::serve(config).await,
            "worker" => server::worker(config).await,
            "bootstrap" => {
                let args: Vec<String> = std::env::args().skip(2).collect();
                match server::BootstrapArgs::parse(&args) {
                    Ok(args) => server::bootstrap(&config, &args).await,
                    Err(err) => Err(err),
                }
            }
            "seed-demo" => match server::seed_demo(&config).await {
                Ok(Some(text)) => {
                    say(&mut std::io::stdout(), &text);
                    Ok(())
                }
                Ok(None) => Ok(()),
                Err(err) => Err(err),
            },
            "seed-bench" => {
                let args: Vec<String> = std::env::args().skip(2).collect();
                match server::SeedBenchArgs::parse(&args) {
                    Ok(args) => server::seed_bench(&config, &args).await.map(|text| {
                        let _ = say(&mut std::io::stdout(), text.trim_end());
                    }),
                    Err(err) => Err(err),
                }
            }
            "rekey" => server::rekey(&config).await.map(|text| {
                let _ = say(&mut std::io::stdout(), &text);
            }),
            "bench-tokens" => {
                let number = |n: usize| std::env::args().nth(n).and_then(|v| v.parse::<u32>().ok());
                match (number(2), number(3)) {
                    (Some(from), Some(count)) => server::bench_tokens(&config, from, count)
                        .await
                        .map(|text| {
                            let _ = say(&mut std::io::stdout(), text.trim_end());
                        }),
                    _ => {
                        say(
                            &mut std::io::stderr(),
                            "usage: guild bench-tokens FROM COUNT",
                        );
                        return ExitCode::from(2);
                    }
                }
            }
            _ => server::run_migrations(&config).await,
        };
    let code = match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "guild {command} failed");
            say(&mut std::io::stderr(), &format!("guild {command}: {err}"));
            match err {
                server::ServerError::Config(_) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    };
    telemetry::flush();
    code
}
