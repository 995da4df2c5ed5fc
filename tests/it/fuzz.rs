//! Arbitrary bytes never make the parser, checker or formatter panic: a deterministic
//! mutation loop over every fixture (byte flips, insertions of syntax characters,
//! deletions, splices), plus purely random inputs.

use crate::fmt::assert_format_ok;
use crate::support::*;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const PIECES: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"(",
    b")",
    b"\"",
    b"'",
    b"=",
    b",",
    b"\n",
    b"/",
    b"//",
    b"/*",
    b"*/",
    b"local:",
    b"\\",
    b"100/s",
    b"24h",
    b"25Gi",
    b"10.0.0.0/8",
    b"secret(\"x\")",
    b"env production {",
    b"shaping default {",
    b"\0",
    b"\xff",
    b"\xc3\xa9",
    b"provider.google",
    b"from",
    b"-",
    b"%",
    b".",
    b"deployment \"d\" {",
    b"max_age = ",
    b"]]",
    b"\r\n",
];

fn mutate(rng: &mut Rng, input: &[u8], pool: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(5) {
            0 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] = rng.next() as u8;
            }
            1 => {
                let piece = PIECES[rng.below(PIECES.len())];
                out.splice(at..at, piece.iter().copied());
            }
            2 if !out.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                out.drain(at.min(end)..end);
            }
            3 => {
                let other = &pool[rng.below(pool.len())];
                if !other.is_empty() {
                    let s = rng.below(other.len());
                    let e = (s + rng.below(64)).min(other.len());
                    out.splice(at..at, other[s..e].iter().copied());
                }
            }
            _ => {
                let len = out.len();
                out.truncate(rng.below(len + 1));
            }
        }
    }
    out
}

#[test]
fn mutated_fixtures_never_panic() {
    let mut pool: Vec<Vec<u8>> = Vec::new();
    for dir in [
        "tests/fixtures/check",
        "tests/fixtures/parse",
        "examples/example-com",
    ] {
        for path in fixtures(dir) {
            pool.extend(fixture_files(&path).into_iter().map(|(_, b)| b));
        }
    }
    let iterations: usize = std::env::var("KUMOC_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..iterations {
        let base = &pool[i % pool.len()];
        let input = mutate(&mut rng, base, &pool);
        let text = String::from_utf8_lossy(&input);
        crate::parse::validate(&text);
        assert_format_ok(&format!("mutation {i}"), &text);
        let a =
            kumoc_compiler::analyze(&[("fuzz.kumo".into(), input.clone())], &Default::default());
        // Rendering must not fail either.
        let _ = kumoc_compiler::render::human(&a.diagnostics, &a.sources, false);
        let _ = kumoc_compiler::render::json(&a.diagnostics, &a.sources);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..300 {
        let len = rng.below(300);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let text = String::from_utf8_lossy(&bytes);
        crate::parse::validate(&text);
        let _ = kumoc_compiler::analyze(&[("random.kumo".into(), bytes)], &Default::default());
    }
}
