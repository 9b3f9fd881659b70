//! Laws of gating (SPEC §4) and of the plugin ABI (SPEC §3): exactly a flagged File or a View
//! on the tmp path passes through; whatever crosses the ABI comes back unflagged and therefore
//! packs, with everything else intact; a View never crosses.

use std::path::PathBuf;

use engine::abi::{decode, encode, from_wire, to_wire};
use engine::artifact::View;
use engine::error::EngineError;
use engine::{is_passthrough, Artifact, ArtifactType, CacheConfig, Content};
use proptest::collection::vec;
use proptest::prelude::*;

fn rel_path() -> impl Strategy<Value = PathBuf> {
    vec("[a-z0-9_.]{1,8}", 1..4).prop_map(|parts| parts.iter().collect())
}

fn kind() -> impl Strategy<Value = ArtifactType> {
    prop::sample::select(vec![
        ArtifactType::Output,
        ArtifactType::Log,
        ArtifactType::SupportFile,
    ])
}

/// Every content kind except View, with arbitrary flags.
fn flat_content() -> impl Strategy<Value = Content> {
    prop_oneof![
        (rel_path(), rel_path(), any::<bool>(), any::<bool>()).prop_map(
            |(source_path, out_path, x, passthrough)| Content::File {
                source_path,
                out_path,
                x,
                passthrough
            }
        ),
        (vec(any::<u8>(), 0..64), rel_path(), any::<bool>())
            .prop_map(|(data, path, x)| Content::Raw { data, path, x }),
        rel_path().prop_map(Content::Tar),
    ]
}

fn artifact_with(content: impl Strategy<Value = Content>) -> impl Strategy<Value = Artifact> {
    ("[a-z0-9_]{1,8}", kind(), content, "[0-9a-f]{1,16}").prop_map(
        |(group, kind, content, hashout)| Artifact {
            group,
            kind,
            content,
            hashout,
        },
    )
}

/// Any content kind, Views (possibly nested) included.
fn content() -> impl Strategy<Value = Content> {
    flat_content().prop_recursive(2, 6, 3, |inner| {
        (rel_path(), vec(artifact_with(inner), 0..3)).prop_map(|(relocate, artifacts)| {
            Content::View(Box::new(View {
                relocate,
                artifacts,
            }))
        })
    })
}

/// SPEC §4 written out from the text, independently of the engine.
fn spec_passthrough(cache: CacheConfig, content: &Content) -> bool {
    let use_tmp_cache = !cache.enabled || cache.shell;
    let flagged_file = matches!(
        content,
        Content::File {
            passthrough: true,
            ..
        }
    );
    let view = matches!(content, Content::View(_));
    use_tmp_cache && (flagged_file || view)
}

proptest! {
    #![proptest_config(props::config("proptest-regressions/gate_props.txt"))]

    /// `is_passthrough` equals SPEC §4 over every content kind, flag and cache config.
    #[test]
    fn gating_equals_spec(enabled: bool, shell: bool, content in content()) {
        let cache = CacheConfig { enabled, shell };
        prop_assert_eq!(cache.use_tmp_cache(), !enabled || shell);
        prop_assert_eq!(
            is_passthrough(cache.use_tmp_cache(), &content),
            spec_passthrough(cache, &content),
            "{:?} {}", cache, content.kind_name()
        );
    }

    /// Outputs that crossed the plugin ABI never pass through, whatever their flag and cache
    /// config were; everything but the flag survives the crossing.
    #[test]
    fn abi_outputs_never_pass_through(artifact in artifact_with(flat_content()), enabled: bool, shell: bool) {
        let use_tmp = CacheConfig { enabled, shell }.use_tmp_cache();
        for back in [decode(&encode(&artifact).unwrap()).unwrap(), from_wire(to_wire(&artifact).unwrap())] {
            prop_assert!(!is_passthrough(use_tmp, &back.content), "{:?}", back);
            let expected = match artifact.content.clone() {
                Content::File { source_path, out_path, x, .. } => Content::File { source_path, out_path, x, passthrough: false },
                other => other,
            };
            prop_assert_eq!(&back, &Artifact { content: expected, ..artifact.clone() });
        }
    }

    /// A View never crosses the ABI, whatever it holds; anything else always does.
    #[test]
    fn views_never_cross_the_abi(artifact in artifact_with(content())) {
        let is_view = matches!(artifact.content, Content::View(_));
        match encode(&artifact) {
            Err(EngineError::ViewAcrossAbi { group }) => {
                prop_assert!(is_view);
                prop_assert_eq!(&group, &artifact.group);
            }
            Err(other) => prop_assert!(false, "unexpected error {}", other),
            Ok(_) => prop_assert!(!is_view),
        }
        prop_assert_eq!(to_wire(&artifact).is_err(), is_view);
    }
}
