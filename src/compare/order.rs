//! Entry order: which common entries moved. The entries kept in place are a longest
//! increasing subsequence of right-side positions taken in left-side order; every other
//! common entry is reported as moved. One entry inserted early shifts every later
//! position but moves nothing, so it gives no order differences.

/// `positions[i]` is the right-side position of the i-th common entry in left order.
/// Returns, for each, whether it is outside the kept subsequence (moved).
pub fn moved(positions: &[u64]) -> Vec<bool> {
    let n = positions.len();
    // tails[k]: index of the smallest tail of an increasing subsequence of length k+1.
    let mut tails: Vec<usize> = Vec::new();
    let mut prev: Vec<usize> = vec![usize::MAX; n];
    for i in 0..n {
        let p = positions[i];
        let k = tails.partition_point(|&t| positions[t] < p);
        if k > 0 {
            prev[i] = tails[k - 1];
        }
        if k == tails.len() {
            tails.push(i);
        } else {
            tails[k] = i;
        }
    }
    let mut out = vec![true; n];
    let mut cur = tails.last().copied().unwrap_or(usize::MAX);
    while cur != usize::MAX {
        out[cur] = false;
        cur = prev[cur];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_order_moves_nothing() {
        assert_eq!(moved(&[0, 1, 2, 3]), vec![false; 4]);
        // Shifted positions (an entry inserted on the right) move nothing.
        assert_eq!(moved(&[0, 2, 3, 4]), vec![false; 4]);
        assert!(moved(&[]).is_empty());
    }

    #[test]
    fn one_moved_entry_is_found() {
        // The entry at right position 0 was moved from the end.
        assert_eq!(moved(&[1, 2, 3, 0]), vec![false, false, false, true]);
        assert_eq!(moved(&[3, 0, 1, 2]), vec![true, false, false, false]);
    }

    #[test]
    fn reversed_keeps_one() {
        let m = moved(&[3, 2, 1, 0]);
        assert_eq!(m.iter().filter(|&&x| !x).count(), 1);
    }
}
