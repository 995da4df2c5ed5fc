//! Presets: the effective settings of a provider or shaping block once the stdlib preset
//! and the user's blocks are merged, each with where it was written.

use kumoc_compiler::Analysis;

/// Markdown listing the merged settings of `keyword label` (stdlib preset + user blocks):
/// what KumoMTA will actually use.
pub fn effective_shaping(analysis: &Analysis, keyword: &str, label: &str) -> Option<String> {
    let model = analysis.model.as_ref()?;
    let shaping = match keyword {
        "provider" => &model.providers.iter().find(|p| p.name == label)?.shaping,
        _ => {
            &model
                .shaping
                .iter()
                .find(|s| s.key.as_str() == label)?
                .shaping
        }
    };
    let mut out = format!("**Effective settings of `{keyword} {label}`** (presets merged):\n\n");
    for (name, setting) in &shaping.settings {
        let text = analysis
            .sources
            .get(setting.loc.file)
            .map_or("", |f| f.slice(setting.loc.span));
        out.push_str(&format!(
            "- `{name} = {text}` — {}\n",
            analysis.sources.position(setting.loc)
        ));
    }
    if !shaping.automation.is_empty() {
        out.push_str(&format!(
            "\n{} automation rule(s).\n",
            shaping.automation.len()
        ));
    }
    Some(out)
}
