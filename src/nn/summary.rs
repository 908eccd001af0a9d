//! `model.summary(input)`: a table of layers, output shapes and parameter counts.

use super::Module;
use crate::tensor::{Tensor, no_grad};
use anyhow::Result;

/// Thousands separators: 1600100 -> "1,600,100".
pub fn with_commas(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// One row of the table.
pub struct Row {
    pub layer: String,
    pub output: Option<Vec<usize>>,
    /// Parameter elements the layer holds (PyTorch's count).
    pub params: usize,
    /// As Keras counts them (one bias per gate in RNN and LSTM layers).
    pub keras_params: usize,
}

impl Module {
    /// The rows: for a sequential, one per layer (with output shapes when `input` is given);
    /// otherwise one for the module itself. Runs in eval mode without recording gradients.
    pub fn summary_rows(&self, input: Option<&Tensor>) -> Result<Vec<Row>> {
        let _g = no_grad();
        let was_training = self.is_training();
        self.set_training(false);
        let result = (|| {
            let layers = if self.kind() == "Sequential" {
                self.children()
            } else {
                vec![self.clone()]
            };
            let mut h = input.cloned();
            let mut rows = Vec::new();
            for l in layers {
                if let Some(x) = &h {
                    h = Some(l.forward(x)?);
                }
                let params = l.parameters().iter().map(Tensor::numel).sum();
                rows.push(Row {
                    layer: l.describe(),
                    output: h.as_ref().map(|t| t.shape().to_vec()),
                    params,
                    keras_params: l.keras_parameter_count(),
                });
            }
            Ok(rows)
        })();
        self.set_training(was_training);
        result
    }

    /// The summary as text: layers, output shapes, parameter counts (the tensors held, as
    /// PyTorch counts; a "Keras" column beside them when a recurrent layer's Keras count, one
    /// bias per gate, differs), totals.
    pub fn summary(&self, input: Option<&Tensor>) -> Result<String> {
        let rows = self.summary_rows(input)?;
        let keras = rows.iter().any(|r| r.keras_params != r.params);
        let w = rows
            .iter()
            .map(|r| r.layer.len())
            .max()
            .unwrap_or(5)
            .max(12);
        let line = "-".repeat(w + if keras { 50 } else { 36 });
        let mut s = format!(
            "{line}\n{:<w$}  {:<20}  {:>12}{}\n{line}\n",
            "Layer",
            "Output shape",
            "Params",
            if keras { "  Keras count" } else { "" }
        );
        for r in &rows {
            let out = r
                .output
                .as_ref()
                .map_or("?".to_string(), |o| format!("{o:?}"));
            let k = if keras {
                format!("  {:>11}", with_commas(r.keras_params))
            } else {
                String::new()
            };
            s.push_str(&format!(
                "{:<w$}  {:<20}  {:>12}{k}\n",
                r.layer,
                out,
                with_commas(r.params)
            ));
        }
        let (total, trainable) = self.count_parameters();
        s.push_str(&format!(
            "{line}\nTotal params: {}\nTrainable params: {}\nNon-trainable params: {}\n",
            with_commas(total),
            with_commas(trainable),
            with_commas(total - trainable)
        ));
        if keras {
            s.push_str(&format!(
                "Keras count (one bias per gate in RNN and LSTM layers): {}\n",
                with_commas(self.keras_parameter_count())
            ));
        }
        Ok(s)
    }
}
