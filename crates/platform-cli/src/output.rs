//! How a command prints its result.

use serde::Serialize;

/// Human-readable text or machine-readable JSON.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned `label: value` lines.
    #[default]
    Text,
    /// One JSON object on one line.
    Json,
}

impl OutputFormat {
    /// Prints `value` as JSON, or its labelled fields as text.
    pub fn print<T: Serialize>(self, value: &T, fields: &[(&str, String)]) -> anyhow::Result<()> {
        match self {
            OutputFormat::Json => println!("{}", serde_json::to_string(value)?),
            OutputFormat::Text => {
                let width = fields.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
                for (label, value) in fields {
                    println!("{label:<width$}  {value}");
                }
            }
        }
        Ok(())
    }
}
