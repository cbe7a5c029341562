//! Fitting the scoring model: maximum likelihood of a conditional logit.
//!
//! Each labelled row is one choice among its candidates plus "none of
//! them". Its truth is the set of alternatives the label allows: the one
//! company meant, the siblings an `ambiguous` label names, or "none" for
//! `not_found` (and for a company meant that the searches never offered).
//! The fit maximises
//!
//! ```text
//! sum over rows of  log( sum_{t in truth} exp(u_t) / sum_{all j} exp(u_j) )  -  l2 * |b|^2
//! ```
//!
//! by Fisher scoring (Newton steps with the covariance of the features in
//! place of the Hessian) and a backtracking line search. The L2 penalty
//! keeps coefficients of rare features near zero instead of letting a
//! handful of rows set them.

use super::score::{Features, K, Model, NK};

/// One labelled row: its candidates' features and what the label allows.
#[derive(Debug, Clone)]
pub struct Example {
    pub candidates: Vec<Features>,
    /// The features of "none of them" for the row's query.
    pub none: [f64; NK],
    /// Indices of `candidates` the label allows; empty means "none of them".
    pub truth: Vec<usize>,
}

/// All parameters: the K coefficients, then those of "none".
const P: usize = K + NK;
type Theta = [f64; P];

fn utilities(theta: &Theta, e: &Example) -> (Vec<f64>, f64) {
    let u: Vec<f64> = e
        .candidates
        .iter()
        .map(|x| x.iter().zip(theta).map(|(a, b)| a * b).sum())
        .collect();
    let none = e.none.iter().zip(&theta[K..]).map(|(a, b)| a * b).sum();
    (u, none)
}

/// Log-likelihood of one row, and its gradient and Fisher information
/// added into `grad` and `info` when given.
fn row(theta: &Theta, e: &Example, grad: Option<&mut Theta>, info: Option<&mut Vec<f64>>) -> f64 {
    let (u, none) = utilities(theta, e);
    let top = u.iter().copied().fold(none, f64::max);
    let weights: Vec<f64> = u.iter().map(|v| (v - top).exp()).collect();
    let none_w = (none - top).exp();
    let total: f64 = weights.iter().sum::<f64>() + none_w;
    let truth_w: f64 = if e.truth.is_empty() {
        none_w
    } else {
        e.truth.iter().map(|&t| weights[t]).sum()
    };
    let ll = truth_w.ln() - total.ln();
    let phi = |j: Option<usize>| -> Theta {
        let mut v = [0.0; P];
        match j {
            Some(i) => v[..K].copy_from_slice(&e.candidates[i]),
            None => v[K..].copy_from_slice(&e.none),
        }
        v
    };
    if let Some(g) = grad {
        let mut mean_all = [0.0; P];
        let mut mean_truth = [0.0; P];
        for (i, w) in weights.iter().enumerate() {
            let p = phi(Some(i));
            for k in 0..P {
                mean_all[k] += w / total * p[k];
            }
        }
        let pn = phi(None);
        for k in 0..P {
            mean_all[k] += none_w / total * pn[k];
        }
        if e.truth.is_empty() {
            mean_truth = pn;
        } else {
            for &t in &e.truth {
                let p = phi(Some(t));
                for k in 0..P {
                    mean_truth[k] += weights[t] / truth_w * p[k];
                }
            }
        }
        for k in 0..P {
            g[k] += mean_truth[k] - mean_all[k];
        }
        if let Some(h) = info {
            // Covariance of the features under the model.
            let mut alternatives: Vec<(f64, Theta)> = weights
                .iter()
                .enumerate()
                .map(|(i, w)| (w / total, phi(Some(i))))
                .collect();
            alternatives.push((none_w / total, phi(None)));
            for (p, v) in &alternatives {
                for a in 0..P {
                    let da = v[a] - mean_all[a];
                    if da == 0.0 {
                        continue;
                    }
                    for b in 0..P {
                        h[a * P + b] += p * da * (v[b] - mean_all[b]);
                    }
                }
            }
        }
    }
    ll
}

fn objective(theta: &Theta, examples: &[Example], l2: f64) -> f64 {
    let ll: f64 = examples.iter().map(|e| row(theta, e, None, None)).sum();
    let penalty: f64 = (0..P)
        .filter(|&k| k != K)
        .map(|k| theta[k] * theta[k])
        .sum();
    ll - l2 * penalty
}

/// Solve `a x = b` (n x n, row-major) by Gaussian elimination with partial
/// pivoting; `None` when singular.
fn solve(mut a: Vec<f64>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot =
            (col..n).max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))?;
        if a[pivot * n + col].abs() < 1e-12 {
            return None;
        }
        for k in 0..n {
            a.swap(col * n + k, pivot * n + k);
        }
        b.swap(col, pivot);
        for r in col + 1..n {
            let factor = a[r * n + col] / a[col * n + col];
            for k in col..n {
                a[r * n + k] -= factor * a[col * n + k];
            }
            b[r] -= factor * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|k| a[r * n + k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r * n + r];
    }
    Some(x)
}

/// The fitted coefficients and "none" coefficients, starting from `start`.
pub fn fit(examples: &[Example], l2: f64, start: &Model) -> ([f64; K], [f64; NK]) {
    let mut theta: Theta = [0.0; P];
    theta[..K].copy_from_slice(&start.coefficients);
    theta[K..].copy_from_slice(&start.none);
    let mut value = objective(&theta, examples, l2);
    for _ in 0..200 {
        let mut grad = [0.0; P];
        let mut info = vec![0.0; P * P];
        for e in examples {
            row(&theta, e, Some(&mut grad), Some(&mut info));
        }
        // Every coefficient but the constant of "none" is kept small.
        for k in 0..P {
            if k == K {
                continue;
            }
            grad[k] -= 2.0 * l2 * theta[k];
            info[k * P + k] += 2.0 * l2;
        }
        // A little damping keeps a feature that never varies from making
        // the system singular.
        for k in 0..P {
            info[k * P + k] += 1e-6;
        }
        let norm: f64 = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
        if norm < 1e-7 {
            break;
        }
        let step = solve(info, grad.to_vec()).unwrap_or_else(|| grad.to_vec());
        let mut t = 1.0;
        let mut improved = false;
        for _ in 0..40 {
            let mut next = theta;
            for k in 0..P {
                next[k] += t * step[k];
            }
            let v = objective(&next, examples, l2);
            if v > value {
                theta = next;
                value = v;
                improved = true;
                break;
            }
            t /= 2.0;
        }
        if !improved {
            break;
        }
    }
    let mut coefficients = [0.0; K];
    coefficients.copy_from_slice(&theta[..K]);
    let mut none = [0.0; NK];
    none.copy_from_slice(&theta[K..]);
    (coefficients, none)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows drawn from a known model are fitted back to about that model.
    #[test]
    fn recovers_the_coefficients_of_simulated_choices() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut truth = [0.0; K];
        truth[0] = 3.0;
        truth[3] = -2.0;
        let none = 1.0;
        let mut examples = Vec::new();
        for _ in 0..3000 {
            let candidates: Vec<Features> = (0..4)
                .map(|_| {
                    let mut x = [0.0; K];
                    x[0] = rng.random::<f64>();
                    x[3] = rng.random::<f64>() * 2.0;
                    x
                })
                .collect();
            let u: Vec<f64> = candidates
                .iter()
                .map(|x| x.iter().zip(&truth).map(|(a, b)| a * b).sum())
                .chain(std::iter::once(none))
                .collect();
            let total: f64 = u.iter().map(|v| v.exp()).sum();
            let mut draw = rng.random::<f64>() * total;
            let mut chosen = u.len() - 1;
            for (i, v) in u.iter().enumerate() {
                draw -= v.exp();
                if draw <= 0.0 {
                    chosen = i;
                    break;
                }
            }
            examples.push(Example {
                candidates,
                none: [1.0, 0.0, 0.0],
                truth: if chosen == 4 { vec![] } else { vec![chosen] },
            });
        }
        let start = Model {
            coefficients: [0.0; K],
            none: [0.0; NK],
            threshold: 0.5,
        };
        let (b, n) = fit(&examples, 1e-3, &start);
        assert!((b[0] - 3.0).abs() < 0.4, "{b:?}");
        assert!((b[3] + 2.0).abs() < 0.3, "{b:?}");
        assert!((n[0] - 1.0).abs() < 0.4, "{n:?}");
        assert!(
            b[1].abs() < 1e-3,
            "a feature that never varies stays at zero"
        );
    }
}
