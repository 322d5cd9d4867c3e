//! Each command: call the library, then print its result as a table or JSON.

use clustermesh_proto::{
    client_config::{ClientConfig, Context},
    tls,
};

use super::{
    Cli, Command, ContextCommand, DisconnectArgs, DrillCommand, FailoverArgs, PairArgs,
    ServicesArgs, StatusArgs,
};
use crate::{
    client::Timeouts,
    connect::{self, ConnectOptions},
    contexts, disconnect,
    drill::{self, DrillError, FailoverOptions, Timings},
    error::{CtlError, EXIT_FAILURE},
    output::{Format, Io},
    services, status,
};

pub(super) async fn execute(cli: Cli, io: &mut Io<'_>) -> Result<u8, CtlError> {
    tls::install_crypto_provider();
    let path = match cli.config {
        Some(path) => path,
        None => ClientConfig::default_path()?,
    };
    let config = ClientConfig::load(&path)?;
    let format = cli.output;
    match cli.command {
        Command::Context(ContextCommand::List) => {
            let list = contexts::list(&config);
            match format {
                Format::Json => io.json(&list)?,
                Format::Table => contexts::render(&list, io)?,
            }
            Ok(0)
        }
        Command::Connect(args) => connect_command(&config, args, format, io).await,
        Command::Disconnect(args) => disconnect_command(&config, args, format, io).await,
        Command::Status(args) => status_command(&config, args, format, io).await,
        Command::Services(args) => services_command(&config, args, format, io).await,
        Command::Drill(DrillCommand::Failover(args)) => {
            failover_command(&config, args, format, io).await
        }
    }
}

fn lines(io: &mut Io<'_>, lines: Vec<String>) -> std::io::Result<()> {
    lines.into_iter().try_for_each(|l| io.line(l))
}

async fn connect_command(
    config: &ClientConfig,
    args: PairArgs,
    format: Format,
    io: &mut Io<'_>,
) -> Result<u8, CtlError> {
    let options = ConnectOptions {
        timeout: args.timeout,
        wait: args.wait,
        timeouts: Timeouts::default(),
    };
    let report = {
        let mut progress = io.progress();
        let (a, b) = (&args.context, &args.destination_context);
        connect::connect(config, a, b, &options, &mut |l| progress.update(l)).await?
    };
    match format {
        Format::Json => io.json(&report)?,
        Format::Table => lines(io, connect::render(&report))?,
    }
    Ok(0)
}

async fn disconnect_command(
    config: &ClientConfig,
    args: DisconnectArgs,
    format: Format,
    io: &mut Io<'_>,
) -> Result<u8, CtlError> {
    let (a, b) = (&args.context, &args.destination_context);
    let report = disconnect::disconnect(config, a, b, Timeouts::default()).await?;
    match format {
        Format::Json => io.json(&report)?,
        Format::Table => lines(io, disconnect::render(&report))?,
    }
    Ok(0)
}

async fn status_command(
    config: &ClientConfig,
    args: StatusArgs,
    format: Format,
    io: &mut Io<'_>,
) -> Result<u8, CtlError> {
    let contexts: Vec<&Context> = match &args.context {
        Some(name) => vec![config.context(Some(name))?],
        None if config.contexts.is_empty() => vec![config.context(None)?],
        None => config.contexts.iter().collect(),
    };
    let timeouts = Timeouts::default();
    let report = match args.wait {
        false => status::mesh_status(&contexts, timeouts).await,
        true => {
            let mut progress = io.progress();
            let mut update = |l: &str| progress.update(l);
            status::wait_healthy(&contexts, timeouts, args.timeout, &mut update).await
        }
    };
    match format {
        Format::Json => io.json(&report)?,
        Format::Table => lines(io, status::render(&report, io.paint()))?,
    }
    if report.healthy {
        return Ok(0);
    }
    if args.wait {
        let error = CtlError::Timeout {
            after: args.timeout,
            what: "a healthy mesh".into(),
            last: Some(format!("{} problem(s)", report.problem_count())),
        };
        let _ = writeln!(io.err, "error: {error}");
        let _ = writeln!(io.err, "hint: the problems are listed above");
    }
    Ok(EXIT_FAILURE)
}

async fn services_command(
    config: &ClientConfig,
    args: ServicesArgs,
    format: Format,
    io: &mut Io<'_>,
) -> Result<u8, CtlError> {
    let context = config.context(args.context.as_deref())?;
    let namespace = args.namespace.as_deref();
    let report = services::services(context, namespace, Timeouts::default()).await?;
    match format {
        Format::Json => io.json(&report)?,
        Format::Table => lines(io, services::render(&report, io.paint()))?,
    }
    Ok(0)
}

/// Completes on Ctrl-C; never, when the signal cannot be watched (then Ctrl-C kills
/// ctl, and the fault's TTL lifts it).
async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn failover_command(
    config: &ClientConfig,
    args: FailoverArgs,
    format: Format,
    io: &mut Io<'_>,
) -> Result<u8, CtlError> {
    let (namespace, name) = args.service;
    let options = FailoverOptions {
        context: args.context,
        namespace,
        name,
        fault: args.fault,
        rate: args.rate,
        duration: args.duration,
        timeout: args.timeout,
        timeouts: Timeouts::default(),
        progress_every: match io.live {
            true => std::time::Duration::from_millis(200),
            false => std::time::Duration::from_secs(1),
        },
    };
    options.validate()?;
    // Opened before the drill, so a bad path does not waste one.
    let mut svg = match &args.svg {
        Some(path) => Some((
            path,
            std::fs::File::create(path)
                .map_err(|e| CtlError::Usage(format!("--svg {}: {e}", path.display())))?,
        )),
        None => None,
    };
    let result = {
        let mut progress = io.progress();
        let timings = Timings::default();
        drill::failover(config, &options, &timings, &mut progress, ctrl_c()).await
    };
    let mut report = match result {
        Ok(report) => report,
        Err(DrillError::Ctl(e)) => return Err(e),
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            if let Some(hint) = e.hint() {
                let _ = writeln!(io.err, "hint: {hint}");
            }
            return Ok(e.exit_code());
        }
    };
    let mut svg_error = None;
    if let Some((path, file)) = &mut svg {
        let written = drill::svg::render(&report)
            .map_err(std::io::Error::other)
            .and_then(|text| std::io::Write::write_all(file, text.as_bytes()));
        match written {
            Ok(()) => report.svg = Some(path.display().to_string()),
            Err(e) => {
                svg_error = Some(format!(
                    "cannot write the SVG timeline to {}: {e}",
                    path.display()
                ))
            }
        }
    }
    match format {
        Format::Json => io.json(&report)?,
        Format::Table => lines(io, drill::render(&report, io.paint()))?,
    }
    if let Some(error) = svg_error {
        let _ = writeln!(io.err, "error: {error}");
        return Ok(EXIT_FAILURE);
    }
    Ok(match report.recovered && report.failed_back {
        true => 0,
        false => EXIT_FAILURE,
    })
}
