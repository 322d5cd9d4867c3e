//! Where and how results are written: aligned tables or JSON on stdout, colour only
//! when stdout is a terminal, progress on stderr (one rewritten line on a terminal,
//! plain lines otherwise), so `-o json` stays machine-readable while waiting.

mod progress;
mod style;
mod table;

use std::io::{self, Write};

use serde::Serialize;

pub use self::{
    progress::Progress,
    style::{Paint, Tone},
    table::Table,
};

/// `-o`/`--output`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned tables for people.
    #[default]
    Table,
    /// One JSON document with stable snake_case field names.
    Json,
}

/// The process's standard streams, or buffers in tests.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    /// Colour on stdout (a terminal, and `NO_COLOR` unset).
    pub color: bool,
    /// Stderr is a terminal: progress rewrites a single line.
    pub live: bool,
}

impl<'a> Io<'a> {
    /// Plain output to `out` and `err`: no colour, progress as plain lines.
    pub fn plain(out: &'a mut dyn Write, err: &'a mut dyn Write) -> Self {
        Self {
            out,
            err,
            color: false,
            live: false,
        }
    }

    pub fn paint(&self) -> Paint {
        Paint::new(self.color)
    }

    pub fn json(&mut self, value: &impl Serialize) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *self.out, value).map_err(io::Error::other)?;
        writeln!(self.out)
    }

    pub fn line(&mut self, text: impl AsRef<str>) -> io::Result<()> {
        writeln!(self.out, "{}", text.as_ref())
    }

    pub fn progress(&mut self) -> Progress<'_> {
        Progress::new(&mut *self.err, self.live)
    }
}

#[cfg(test)]
mod tests;
