//! ANSI colour, applied only when the output is a terminal.

/// What a piece of text means, rather than which colour it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Good,
    Bad,
    Warn,
    Dim,
}

#[derive(Debug, Clone, Copy)]
pub struct Paint {
    enabled: bool,
}

impl Paint {
    pub fn new(enabled: bool) -> Self {
        Self { enabled }
    }

    pub fn tone(&self, tone: Tone, text: &str) -> String {
        let code = match tone {
            Tone::Plain => return text.to_owned(),
            Tone::Good => "32",
            Tone::Bad => "1;31",
            Tone::Warn => "33",
            Tone::Dim => "2",
        };
        if self.enabled && !text.is_empty() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub fn good(&self, text: &str) -> String {
        self.tone(Tone::Good, text)
    }

    pub fn bad(&self, text: &str) -> String {
        self.tone(Tone::Bad, text)
    }

    pub fn warn(&self, text: &str) -> String {
        self.tone(Tone::Warn, text)
    }
}
