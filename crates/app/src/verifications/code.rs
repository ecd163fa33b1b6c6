//! The codes: drawn from a CSPRNG with uniform digits, and the shape a checked code must have.

use super::{MAX_CODE_LENGTH, MIN_CODE_LENGTH};

pub(super) fn new_code(length: u32) -> String {
    // `rand::rng()` is a CSPRNG seeded from the OS; `random_range` draws without modulo bias.
    (0..length).map(|_| char::from(b'0' + rand::random_range(0..10u8))).collect()
}

pub(super) fn valid_code_format(code: &str) -> bool {
    (MIN_CODE_LENGTH as usize..=MAX_CODE_LENGTH as usize).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pearson's χ² of the digit counts of `codes` codes of `length` digits, against uniform
    /// (9 degrees of freedom).
    fn chi_square_of_codes(codes: usize, length: u32) -> f64 {
        let mut counts = [0u64; 10];
        for _ in 0..codes {
            for b in new_code(length).bytes() {
                counts[usize::from(b - b'0')] += 1;
            }
        }
        let total: u64 = counts.iter().sum();
        let expected = total as f64 / 10.0;
        counts.iter().map(|&c| (c as f64 - expected).powi(2) / expected).sum()
    }

    #[test]
    fn code_digits_are_uniform_over_100_000_digits() {
        // χ² with 9 degrees of freedom exceeds 21.67 with probability 0.01: a uniform source
        // fails one run in a hundred, so it gets three; a biased one fails all of them.
        let runs: Vec<f64> = (0..3).map(|_| chi_square_of_codes(100_000, 6)).collect();
        assert!(runs.iter().any(|&chi| chi < 21.67), "χ² = {runs:?}: the digits are not uniform (p < 0.01)");
    }

    /// The benchmark of `docs/BENCHMARKS.md`: `cargo test -p textbird-app --release --lib --
    /// --ignored --nocapture one_million_codes`.
    #[test]
    #[ignore = "a benchmark; run on purpose"]
    fn one_million_codes() {
        let started = std::time::Instant::now();
        let chi = chi_square_of_codes(1_000_000, 6);
        let took = started.elapsed();
        println!(
            "1,000,000 six-digit codes in {took:?} ({:.0} ns per code); χ² = {chi:.2} (9 df; p > 0.01 below 21.67)",
            took.as_nanos() as f64 / 1e6
        );
        assert!(chi < 21.67, "χ² = {chi:.2}");
    }

    #[test]
    fn codes_have_the_asked_length_and_only_digits() {
        for len in MIN_CODE_LENGTH..=MAX_CODE_LENGTH {
            let code = new_code(len);
            assert_eq!(code.len(), len as usize);
            assert!(valid_code_format(&code));
        }
        assert!(!valid_code_format("12a4"));
        assert!(!valid_code_format("123"));
        assert!(!valid_code_format("12345678901"));
    }
}
