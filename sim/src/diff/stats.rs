//! The statistics of `sim diff`: two-sided p-values for a share and for an event count, each
//! before and after over the same schedules.

/// Two-sided p-value that two event counts over the same schedules come from one rate: given
/// their sum, the first is Binomial(sum, 1/2) (the conditional test for two Poisson counts), in
/// its normal approximation.
pub fn two_counts_p(c1: u64, c2: u64) -> f64 {
    if c1 == c2 {
        return 1.0;
    }
    let z = (c1 as f64 - c2 as f64).abs() / ((c1 + c2) as f64).sqrt();
    erfc(z / std::f64::consts::SQRT_2).clamp(0.0, 1.0)
}

/// Two-sided p-value of the pooled two-proportion z-test of `c1/n1` against `c2/n2` (1 when
/// either side is empty or the pooled share is 0 or 1: nothing to tell apart).
pub fn two_proportion_p((c1, n1): (u64, u64), (c2, n2): (u64, u64)) -> f64 {
    assert!(c1 <= n1 && c2 <= n2, "a count above its total");
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    let (c1, n1, c2, n2) = (c1 as f64, n1 as f64, c2 as f64, n2 as f64);
    let pooled = (c1 + c2) / (n1 + n2);
    let variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2);
    if variance <= 0.0 {
        return 1.0;
    }
    let z = ((c1 / n1) - (c2 / n2)).abs() / variance.sqrt();
    erfc(z / std::f64::consts::SQRT_2).clamp(0.0, 1.0)
}

/// The complementary error function (Numerical Recipes' `erfcc`: fractional error below
/// 1.2e-7 everywhere, enough for levels down to 1e-300).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_shares_do_not_move_and_far_ones_do() {
        assert_eq!(two_proportion_p((0, 0), (5, 10)), 1.0);
        assert!(two_proportion_p((50, 100), (50, 100)) > 0.99);
        assert!(two_proportion_p((5000, 10000), (4900, 10000)) > 1e-3);
        assert!(two_proportion_p((5000, 10000), (100, 10000)) < 1e-100);
        assert_eq!(two_counts_p(7, 7), 1.0);
        assert!(two_counts_p(100, 110) > 0.1);
        assert!(two_counts_p(0, 112_059) < 1e-100);
        // erfc against known values: erfc(1) = 0.157299207, erfc(3) = 2.20904970e-5.
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(3.0) / 2.209_049_70e-5 - 1.0).abs() < 1e-6);
        assert!((erfc(-1.0) - (2.0 - 0.157_299_207)).abs() < 1e-7);
    }
}
