//! "Still waiting, and on what": one line rewritten in place on a terminal; on
//! anything else a plain line each time the state changes, so logs stay readable.

use std::io::Write;

pub struct Progress<'a> {
    err: &'a mut dyn Write,
    live: bool,
    last: Option<String>,
}

impl<'a> Progress<'a> {
    pub fn new(err: &'a mut dyn Write, live: bool) -> Self {
        Self {
            err,
            live,
            last: None,
        }
    }

    /// Shows `line` unless it is what is already shown. Progress is a courtesy, so
    /// a failure to write it is ignored rather than failing the command.
    pub fn update(&mut self, line: &str) {
        if self.last.as_deref() == Some(line) {
            return;
        }
        let _ = if self.live {
            // Carriage return, then erase the line: the new text replaces the old.
            write!(self.err, "\r\x1b[2K{line}")
        } else {
            writeln!(self.err, "{line}")
        };
        let _ = self.err.flush();
        self.last = Some(line.to_owned());
    }

    /// Ends the live line, so what follows starts on a fresh one.
    pub fn finish(&mut self) {
        if self.live && self.last.take().is_some() {
            let _ = writeln!(self.err);
        }
    }
}

impl Drop for Progress<'_> {
    fn drop(&mut self) {
        self.finish();
    }
}
