//! Progress while a command waits (following a submission to its final score, a sudo action to
//! its commit, a local evaluation): on a terminal, a spinner on stderr with the time elapsed and
//! the stage reached; in `--output json`, nothing, so that a script reads only the result on
//! stdout. When stderr is not a terminal, following a submission logs one plain line per new
//! stage ([`Progress::logged`]); the other commands stay silent there, so that a failure is the
//! one line it always was.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::OutputFormat;

/// A waiting command's progress report.
pub struct Progress {
    bar: ProgressBar,
    /// Plain lines on stderr instead of a spinner (text output, stderr not a terminal).
    lines: bool,
    last: String,
}

impl Progress {
    /// Starts reporting `stage`: a spinner on a terminal, nothing elsewhere.
    pub fn start(output: OutputFormat, stage: &str) -> Progress {
        Progress::to(output, ProgressDrawTarget::stderr(), false, stage)
    }

    /// Starts reporting `stage`: a spinner on a terminal, one line per stage on any other stderr
    /// (text output only).
    pub fn logged(output: OutputFormat, stage: &str) -> Progress {
        Progress::to(output, ProgressDrawTarget::stderr(), true, stage)
    }

    fn to(output: OutputFormat, target: ProgressDrawTarget, log: bool, stage: &str) -> Progress {
        let quiet = output == OutputFormat::Json;
        let lines = log && !quiet && target.is_hidden();
        let bar = if quiet || lines { ProgressBar::hidden() } else { ProgressBar::with_draw_target(None, target) };
        if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed:>3}] {msg}") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        // The first stage is only drawn, never logged: a command that fails at once still
        // prints its one error line alone.
        bar.set_message(stage.to_owned());
        Progress { bar, lines, last: stage.to_owned() }
    }

    /// Reports the stage reached (a repeat of the last one changes nothing).
    pub fn stage(&mut self, stage: &str) {
        if stage == self.last {
            return;
        }
        stage.clone_into(&mut self.last);
        if self.lines {
            eprintln!("… {stage}");
        }
        self.bar.set_message(stage.to_owned());
    }

    /// Clears the spinner; the result is printed after.
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}

/// The stage a submission's status (`GET /submissions/{id}`) shows, in words.
pub fn submission_stage(status: &serde_json::Value) -> String {
    let phase = status["status"].as_str().unwrap_or("unknown");
    let evaluations = status["evaluations"].as_array().map_or(0, Vec::len);
    let stake = status["evaluated_stake_ppb"].as_u64().unwrap_or(0) as f64 / 1e7;
    match (phase, status["height"].as_u64()) {
        ("pending", None) => "admitted, waiting to be ordered in a block".to_owned(),
        (_, Some(height)) if status["final"] != true => format!(
            "ordered in block {height}: {evaluations} evaluation(s) from {stake:.0} % of the stake (final above 66.7 %)"
        ),
        (phase, _) => format!("{phase}, {evaluations} evaluation(s)"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    impl Progress {
        fn is_drawn(&self) -> bool {
            !self.bar.is_hidden()
        }
    }

    #[test]
    fn json_output_and_a_pipe_get_no_spinner() {
        let quiet = Progress::to(OutputFormat::Json, ProgressDrawTarget::hidden(), true, "waiting");
        assert!(!quiet.is_drawn() && !quiet.lines, "--output json prints nothing but the result");
        let piped = Progress::to(OutputFormat::Text, ProgressDrawTarget::hidden(), true, "waiting");
        assert!(!piped.is_drawn() && piped.lines, "a followed submission to a pipe: one line per stage");
        let silent = Progress::to(OutputFormat::Text, ProgressDrawTarget::hidden(), false, "waiting");
        assert!(!silent.is_drawn() && !silent.lines, "other commands to a pipe: nothing");
        let term = || ProgressDrawTarget::term_like(Box::new(NullTerm));
        let drawn = Progress::to(OutputFormat::Text, term(), true, "waiting");
        assert!(drawn.is_drawn() && !drawn.lines, "a terminal gets the spinner");
        drawn.finish();
        let json = Progress::to(OutputFormat::Json, term(), true, "waiting");
        assert!(!json.is_drawn(), "--output json draws nothing even on a terminal");
        json.finish();
    }

    /// A terminal that draws nowhere.
    #[derive(Debug)]
    struct NullTerm;

    impl indicatif::TermLike for NullTerm {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, _: &str) -> std::io::Result<()> {
            Ok(())
        }
        fn write_str(&self, _: &str) -> std::io::Result<()> {
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_submissions_stage_says_where_it_is() {
        let pending = json!({ "status": "pending", "final": false, "height": null, "evaluations": [] });
        assert_eq!(submission_stage(&pending), "admitted, waiting to be ordered in a block");
        let ordered = json!({ "status": "partially_evaluated", "final": false, "height": 12, "evaluations": [{}],
            "evaluated_stake_ppb": 250_000_000 });
        assert_eq!(
            submission_stage(&ordered),
            "ordered in block 12: 1 evaluation(s) from 25 % of the stake (final above 66.7 %)"
        );
        let scored = json!({ "status": "scored", "final": true, "height": 12, "evaluations": [{}, {}, {}] });
        assert_eq!(submission_stage(&scored), "scored, 3 evaluation(s)");
    }
}
