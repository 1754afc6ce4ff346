//! Reading the PIN and the last-try confirmation: hidden terminal input, or lines from
//! standard input for scripts (`--pin-stdin`). The PIN goes straight into a zeroizing
//! buffer and is never echoed, logged or kept.

use std::io::{self, BufRead, Write};

use zeroize::Zeroizing;

/// Where answers come from.
pub enum Answers {
    /// The terminal: hidden PIN input, prompts on stderr.
    Terminal,
    /// Lines of standard input: the PIN, then (only if asked) the confirmation.
    Stdin,
}

impl Answers {
    /// Asks for the PIN.
    pub fn pin(&self, prompt: &str) -> io::Result<Zeroizing<String>> {
        match self {
            Answers::Terminal => Ok(Zeroizing::new(rpassword::prompt_password(prompt)?)),
            Answers::Stdin => {
                eprint!("{prompt}");
                io::stderr().flush()?;
                let mut line = Zeroizing::new(String::new());
                // End of input is no answer, never an empty entry (which can mean "the same
                // PIN as before").
                if io::stdin().lock().read_line(&mut line)? == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no more input"));
                }
                eprintln!();
                let trimmed = Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_string());
                Ok(trimmed)
            }
        }
    }

    /// Asks for one line (a menu choice).
    pub fn line(&self, question: &str) -> io::Result<String> {
        eprint!("{question}");
        io::stderr().flush()?;
        let mut line = String::new();
        io::stdin().lock().read_line(&mut line)?;
        if matches!(self, Answers::Stdin) {
            eprintln!();
        }
        Ok(line)
    }

    /// Asks a yes/no question; only `y` or `yes` means yes. End of input means no.
    pub fn confirm(&self, question: &str) -> io::Result<bool> {
        eprint!("{question}");
        io::stderr().flush()?;
        let mut line = String::new();
        io::stdin().lock().read_line(&mut line)?;
        let answer = line.trim().to_ascii_lowercase();
        Ok(answer == "y" || answer == "yes" || answer == "はい")
    }
}
