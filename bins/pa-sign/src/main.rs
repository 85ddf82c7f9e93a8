//! `pa-sign`: sign a run bundle (the `signing` stage), verify one, or make a key pair.
//!
//! ```text
//! pa-sign keygen --out ~/.config/purple-axiom/sign.key        # + sign.key.pub
//! pa-sign --run-dir runs/<id> --key ~/.config/purple-axiom/sign.key
//! pa-sign verify runs/<id> [--pubkey sign.key.pub]             # exit 0 valid, 20 not
//! ```

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use pa_signing::verify::{self, Verdict};
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "pa-sign",
    version,
    about = "Sign a run bundle (security/checksums.txt + minisign signature), verify one, or make a key pair",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    common: pa_stage::CommonArgs,
    /// The minisign secret key (default: the range's `security.signing.key_ref`).
    #[arg(long, value_name = "PATH")]
    key: Option<PathBuf>,
    /// Environment variable holding the password of an encrypted key.
    #[arg(long, value_name = "NAME")]
    password_env: Option<String>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Make a key pair: the secret key at PATH (mode 0600), the public key at PATH.pub.
    Keygen {
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
        /// Encrypt the secret key with the password in this environment variable.
        #[arg(long, value_name = "NAME")]
        password_env: Option<String>,
        /// Overwrite existing key files.
        #[arg(long)]
        force: bool,
    },
    /// Re-hash every covered file and verify the signature; exit 0 when valid, 20 otherwise.
    Verify {
        /// The run bundle.
        run_dir: PathBuf,
        /// A minisign public key you trust (default: the bundle's own `security/minisign.pub`,
        /// which proves the bundle is intact but not who signed it).
        #[arg(long, value_name = "PATH")]
        pubkey: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
}

fn main() {
    let cli = Cli::parse();
    match cli.cmd {
        None => std::process::exit(pa_signing::run(
            &cli.common,
            &pa_signing::SignOptions {
                key: cli.key,
                password_env: cli.password_env,
            },
        )),
        Some(cmd) => {
            pa_stage::init_logging(cli.common.log_format, cli.common.verbose, cli.common.quiet);
            match run_cmd(cmd) {
                Ok(code) => std::process::exit(code),
                Err(e) => pa_stage::exit_on_error("pa-sign", &format!("{e:#}")),
            }
        }
    }
}

fn run_cmd(cmd: Cmd) -> anyhow::Result<i32> {
    match cmd {
        Cmd::Keygen {
            out,
            password_env,
            force,
        } => {
            let password = password_env
                .map(|v| std::env::var(&v).with_context(|| format!("{v} is not set")))
                .transpose()?;
            let id = pa_signing::key::keygen(&out, password, force)?;
            let mut o = pa_stage::stdout();
            writeln!(
                o,
                "key id {id}: secret key {} (keep it out of bundles and repositories), public key {}.pub",
                out.display(),
                out.display()
            )?;
            o.flush()?;
            Ok(0)
        }
        Cmd::Verify {
            run_dir,
            pubkey,
            format,
        } => {
            let run_id = pa_bundle::RunDir::open(&run_dir)
                .map(|(r, _)| r.run_id().to_owned())
                .ok();
            let report = verify::verify(&run_dir, run_id.as_deref(), pubkey.as_deref());
            let code = if report.verdict == Verdict::Valid {
                0
            } else {
                20
            };
            let mut o = pa_stage::stdout();
            let written = match format {
                Format::Human => o.write_all(verify::render_human(&run_dir, &report).as_bytes()),
                Format::Json => serde_json::to_writer_pretty(&mut o, &report)
                    .map_err(std::io::Error::from)
                    .and_then(|()| o.write_all(b"\n")),
            };
            // A reader that went away does not make an invalid bundle valid.
            Ok(pa_stage::verdict(code, written.and_then(|()| o.flush()))?)
        }
    }
}
