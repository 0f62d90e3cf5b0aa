//! The scanner rules shipped in `deploy/scanners/`: the gitleaks regex finds
//! generated tokens in text and skips near misses, and the reference
//! checksum script (Python) accepts genuine tokens and refuses look-alikes
//! whose checksum is wrong.

use patgate::clock::OsRandom;
use patgate::tokens::format::{generate, with_checksum, TokenKind};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn gitleaks_regex() -> regex::Regex {
    let rule = std::fs::read_to_string(root().join("deploy/scanners/gitleaks.toml")).unwrap();
    let table: toml::Table = toml::from_str(&rule).unwrap();
    let pattern = table["rules"][0]["regex"].as_str().unwrap();
    regex::Regex::new(pattern).unwrap()
}

fn tokens() -> Vec<String> {
    (0..20)
        .map(|i| {
            let kind = if i % 2 == 0 {
                TokenKind::Personal
            } else {
                TokenKind::Service
            };
            generate(kind, None, &OsRandom).raw.expose().to_string()
        })
        .collect()
}

/// Near misses: the right shape with a wrong checksum, and wrong shapes.
fn near_misses(token: &str) -> (String, Vec<String>) {
    let mut flipped = token.to_string();
    let i = 30;
    let c = if &token[i..=i] == "a" { "b" } else { "a" };
    flipped.replace_range(i..=i, c);
    let shapes = vec![
        format!("pet{}", &token[3..]),
        token[..token.len() - 1].to_string(),
        format!("{token}x"),
        token.replacen('.', "-", 1),
        format!("xpat{}", &token[3..]),
    ];
    (flipped, shapes)
}

#[test]
fn the_gitleaks_regex_finds_tokens_and_skips_near_misses() {
    let re = gitleaks_regex();
    for token in tokens() {
        let text = format!("export PATGATE_TOKEN={token}\n# {token}.");
        let found: Vec<&str> = re
            .captures_iter(&text)
            .map(|c| c.get(1).unwrap().as_str())
            .collect();
        assert_eq!(found, [token.as_str(), token.as_str()], "{text}");
        let (flipped, shapes) = near_misses(&token);
        assert!(
            re.is_match(&flipped),
            "a wrong checksum still has the shape: the checksum decides"
        );
        for miss in shapes {
            assert!(!re.is_match(&miss), "{miss} is not a token");
        }
    }
}

#[test]
fn the_reference_checksum_script_tells_tokens_from_look_alikes() {
    let python = std::process::Command::new("python3")
        .arg("--version")
        .output();
    if !python.is_ok_and(|o| o.status.success()) {
        crate::support::skipped("python3 is not installed; the reference checksum script's check");
        return;
    }
    let script = root().join("deploy/scanners/patgate_checksum.py");
    let run = |tokens: &[String]| {
        let out = std::process::Command::new("python3")
            .arg(&script)
            .args(tokens)
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let genuine = tokens();
    assert!(run(&genuine).iter().all(|l| l == "valid"));
    let mut misses = Vec::new();
    for token in &genuine {
        let (flipped, shapes) = near_misses(token);
        misses.push(flipped);
        misses.extend(shapes);
    }
    let said = run(&misses);
    assert_eq!(said.len(), misses.len());
    assert!(said.iter().all(|l| l == "invalid"), "{misses:?} → {said:?}");
    let rebuilt = with_checksum(&genuine[0][..genuine[0].len() - 6]);
    assert_eq!(run(&[rebuilt]), ["valid"], "the script and patgate agree");
}
