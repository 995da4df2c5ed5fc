//! KUMO-K8S006 image-tag-in-image: the `image` repository carries its own tag.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::grammars::image_repository as repository;
use crate::lints::{Kind, LintContext, util};

declare_rule! {
    /// ## What it does
    /// Reports a `deployment` whose `image` carries a tag (`:latest`, `:main`, any `:tag`).
    /// A digest (`@sha256:...`) is not reported: it is the strongest pin, and kumoc writes
    /// `IMAGE:RELEASE@DIGEST`, which the kubelet pulls by digest.
    ///
    /// ## Why is this bad?
    /// kumoc pins every pod to the release in `kumomta`: it writes `IMAGE:RELEASE`. A tag in
    /// `image` gives an invalid reference such as `ghcr.io/kumocorp/kumomta:latest:2025.03.19-1d3f1f67`,
    /// and the intent behind it is usually worse: KumoMTA publishes moving `:latest` and
    /// `:main` tags, so pods started a day apart run different code, a restart can upgrade
    /// the MTA unannounced, and features kumoc gates on the declared release may be missing
    /// from what runs. The release belongs in `kumomta`, where kumoc checks it.
    ///
    /// ## Example
    /// ```kumo
    /// deployment "example-com" {
    ///   namespace   = "kumomta"
    ///   kumomta     = "2025.03.19-1d3f1f67"
    ///   image       = "ghcr.io/kumocorp/kumomta:latest"
    ///   environment = production
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// deployment "example-com" {
    ///   namespace   = "kumomta"
    ///   kumomta     = "2025.03.19-1d3f1f67" // the image tag
    ///   image       = "ghcr.io/kumocorp/kumomta"
    ///   environment = production
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix drops the tag from `image` and keeps a digest. It is safe: the pods then run
    /// the release declared in `kumomta` (or the digest), which is the one kumoc checked the
    /// description against.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/installation/docker/>
    /// - Polaris, check `tagNotSpecified`
    pub static RULE = {
        code: "KUMO-K8S006",
        name: "image-tag-in-image",
        severity: ErrorInProduction,
        since: "0.1.0",
        priority: "P0",
        summary: "The image repository carries a tag; the tag comes from `kumomta`",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let image = &cx.model.image;
    // A digest is welcome (the strongest pin; kumoc writes `IMAGE:RELEASE@DIGEST`): only a
    // tag is reported, and the fix keeps the digest.
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image.as_str(), None),
    };
    let repo = repository(name);
    if repo == name {
        return;
    }
    let tag = name.get(repo.len()..).unwrap_or("");
    let written = util::find_written(cx, &["deployment"], "image");
    let at = written.as_ref().map_or(cx.model.name.loc, |w| w.loc);
    let release = cx.text(cx.model.version.loc);
    let d = RULE
        .diagnostic(
            cx,
            format!("the image `{image}` has its own tag: kumoc tags it with the `kumomta` release"),
            at,
            format!("drop `{tag}`"),
        )
        .with_secondary(cx.model.version.loc, "the release every pod runs")
        .with_help(format!(
            "name only the repository in `image` (a digest `@sha256:...` may pin it); the release is `kumomta = {release}`"
        ));
    let kept = match digest {
        Some(digest) => format!("{repo}@{digest}"),
        None => repo.to_string(),
    };
    out.push(match written {
        Some(w) => d.with_replacement("drop the tag", w.loc, format!("\"{kept}\"")),
        None => d,
    });
}

#[cfg(test)]
mod tests {
    use super::repository;

    #[test]
    fn repositories() {
        assert_eq!(
            repository("ghcr.io/kumocorp/kumomta"),
            "ghcr.io/kumocorp/kumomta"
        );
        assert_eq!(
            repository("ghcr.io/kumocorp/kumomta:latest"),
            "ghcr.io/kumocorp/kumomta"
        );
        assert_eq!(repository("registry:5000/kumomta"), "registry:5000/kumomta");
        assert_eq!(
            repository("registry:5000/kumomta:main"),
            "registry:5000/kumomta"
        );
        assert_eq!(repository("kumomta@sha256:abc"), "kumomta");
        assert_eq!(repository("kumomta:1@sha256:abc"), "kumomta");
    }
}
