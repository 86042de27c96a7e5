//! Keeping the content of small files that turn out to differ, without keeping all
//! small files: the comparison's [`ContentSink`] for the sources. Both sides are read at
//! the same time; when one side has hashed a small file it offers the content here. If the other side has already seen that path, the
//! digests decide at once: equal, the bytes are dropped; different, both sides' bytes
//! are kept for the content diff. If not, the bytes wait (bounded by a byte budget per
//! side) until the other side gets there. Archives written in the same order (the usual
//! case for two builds of one thing) keep the waiting set tiny; whatever the budget
//! could not hold is fetched again later by re-reading the input.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::entry::{Bytes, Digest};
use crate::source::{ContentSink, EntrySet};

/// Left or right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Left = 0,
    Right = 1,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Side::Left => "left",
            Side::Right => "right",
        }
    }
}

/// A content held for a path: its digest and bytes.
type Held = (Digest, Arc<[u8]>);

/// Content kept for one path: the SHA-256 it had and the bytes, per side.
pub type KeptPair = [Option<(Digest, Arc<[u8]>)>; 2];

#[derive(Default)]
struct State {
    seen: [HashMap<Bytes, Digest>; 2],
    pending: [HashMap<Bytes, Held>; 2],
    pending_bytes: [u64; 2],
    kept_bytes: u64,
    done: [bool; 2],
    kept: HashMap<Bytes, KeptPair>,
}

/// What a keeper may hold.
#[derive(Clone, Copy, Debug)]
pub struct Budgets {
    /// Bytes one side may hold waiting for the other.
    pub waiting: u64,
    /// Bytes of contents that differ kept in all (past it they are fetched again later,
    /// if the content diff wants them).
    pub kept: u64,
    /// Largest content offered (`--max-text-size`: larger files get no text diff).
    pub keep_limit: u64,
}

/// Shared between the two sides while they are read.
pub struct Keeper<'a> {
    state: Mutex<State>,
    budgets: Budgets,
    /// One side read completely already (`--low-memory`): the other side's offers are
    /// decided against its entries, and nothing else is remembered.
    reference: Option<(Side, &'a EntrySet)>,
    /// Per side: offer empty contents too. Needed where the *other* side is a stream
    /// (it cannot be read again, so its differing bytes must be kept while it is read,
    /// and an empty content on this side is a difference like any other).
    empty_too: [bool; 2],
}

impl<'a> Keeper<'a> {
    pub fn new(budgets: Budgets) -> Self {
        Keeper {
            state: Mutex::new(State::default()),
            budgets,
            reference: None,
            empty_too: [false; 2],
        }
    }

    /// Have `side` offer its empty contents as well (call it when the other side is a
    /// stream).
    pub fn offer_empty(mut self, side: Side) -> Self {
        self.empty_too[side as usize] = true;
        self
    }

    /// Whether `side` offers a content of `size` bytes.
    pub fn wants(&self, side: Side, size: u64) -> bool {
        size <= self.budgets.keep_limit && (size > 0 || self.empty_too[side as usize])
    }

    /// For a side read after `set` (the other side) was read completely: an offered
    /// content is kept when `set` has the path with another SHA-256, up to the kept
    /// budget. No path is remembered.
    pub fn against(side_read: Side, set: &'a EntrySet, budgets: Budgets) -> Self {
        Keeper {
            reference: Some((side_read, set)),
            ..Keeper::new(Budgets {
                waiting: 0,
                ..budgets
            })
        }
    }

    /// The sink through which `side`'s source offers its contents.
    pub fn sink(&self, side: Side) -> SideSink<'_, 'a> {
        SideSink { keeper: self, side }
    }

    /// One side has hashed a small file.
    pub fn offer(&self, side: Side, path: &[u8], digest: Digest, content: &[u8]) {
        let s = side as usize;
        let o = side.other() as usize;
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let st = &mut *st;
        if let Some((read, set)) = &self.reference {
            // Both sides' bytes count against the budget, as when both are held here:
            // the first side's are read again for the diff.
            if *read == side
                && let Some(e) = set.get(path)
                && e.digest.is_some_and(|f| f != digest)
                && st.kept_bytes + content.len() as u64 + e.size <= self.budgets.kept
            {
                st.kept_bytes += content.len() as u64 + e.size;
                st.kept.entry(Box::from(path)).or_default()[s] = Some((digest, Arc::from(content)));
            }
            return;
        }
        match st.seen[o].get(path) {
            Some(other_digest) => {
                let other = st.pending[o].remove(path);
                if let Some((_, b)) = &other {
                    st.pending_bytes[o] -= b.len() as u64;
                }
                if *other_digest != digest {
                    let add =
                        content.len() as u64 + other.as_ref().map_or(0, |(_, b)| b.len() as u64);
                    if st.kept_bytes + add <= self.budgets.kept {
                        st.kept_bytes += add;
                        let slot = st.kept.entry(Box::from(path)).or_default();
                        if let Some(other) = other {
                            slot[o] = Some(other);
                        }
                        slot[s] = Some((digest, Arc::from(content)));
                    }
                }
            }
            None if !st.done[o]
                && st.pending_bytes[s] + content.len() as u64 <= self.budgets.waiting =>
            {
                if let Some((_, old)) =
                    st.pending[s].insert(Box::from(path), (digest, Arc::from(content)))
                {
                    st.pending_bytes[s] -= old.len() as u64;
                }
                st.pending_bytes[s] += content.len() as u64;
            }
            None => {}
        }
        st.seen[s].insert(Box::from(path), digest);
    }

    /// One side has been read completely: what the other side still holds waiting for
    /// it can never be matched and is dropped.
    pub fn finish(&self, side: Side) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.done[side as usize] = true;
        let o = side.other() as usize;
        st.pending[o].clear();
        st.pending_bytes[o] = 0;
    }

    /// The contents kept because they differ.
    pub fn into_kept(self) -> HashMap<Bytes, KeptPair> {
        self.state
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .kept
    }
}

/// One side's view of a keeper: the sink its source offers contents to.
pub struct SideSink<'k, 'a> {
    keeper: &'k Keeper<'a>,
    side: Side,
}

impl ContentSink for SideSink<'_, '_> {
    fn wants(&self, _: &[u8], size: u64) -> bool {
        self.keeper.wants(self.side, size)
    }
    fn content(&self, path: &[u8], digest: Digest, bytes: &[u8]) {
        self.keeper.offer(self.side, path, digest, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> Digest {
        [n; 32]
    }

    fn budgets(n: u64) -> Budgets {
        Budgets {
            waiting: n,
            kept: 1 << 20,
            keep_limit: 1 << 20,
        }
    }

    #[test]
    fn keeps_only_what_differs() {
        let k = Keeper::new(budgets(1 << 20));
        k.offer(Side::Left, b"a", d(1), b"same");
        k.offer(Side::Left, b"b", d(2), b"left b");
        k.offer(Side::Right, b"a", d(1), b"same");
        k.offer(Side::Right, b"b", d(3), b"right b");
        k.offer(Side::Right, b"c", d(4), b"right c");
        k.offer(Side::Left, b"c", d(5), b"left c");
        k.offer(Side::Left, b"only-left", d(6), b"x");
        k.finish(Side::Right);
        k.finish(Side::Left);
        let kept = k.into_kept();
        assert_eq!(kept.len(), 2);
        let b = &kept[&b"b"[..]];
        assert_eq!(&*b[0].as_ref().unwrap().1, b"left b");
        assert_eq!(&*b[1].as_ref().unwrap().1, b"right b");
        let c = &kept[&b"c"[..]];
        assert_eq!(&*c[0].as_ref().unwrap().1, b"left c");
        assert_eq!(&*c[1].as_ref().unwrap().1, b"right c");
    }

    #[test]
    fn against_a_set_read_before() {
        use crate::entry::{Entry, Kind};
        let file = |p: &str, n: u8| {
            let mut e = Entry::new(p.as_bytes().into(), Kind::File);
            e.digest = Some(d(n));
            e
        };
        let set = crate::source::finish_set(
            vec![file("a", 1), file("b", 2), file("big", 3)],
            crate::source::InputInfo::new("left", crate::source::SourceKind::Tar),
        );
        let k = Keeper::against(
            Side::Right,
            &set,
            Budgets {
                kept: 12,
                ..budgets(0)
            },
        );
        k.offer(Side::Right, b"a", d(1), b"same");
        k.offer(Side::Right, b"b", d(9), b"right b");
        k.offer(Side::Right, b"new", d(4), b"only right");
        k.offer(Side::Right, b"big", d(7), b"over the budget");
        k.finish(Side::Right);
        let kept = k.into_kept();
        assert_eq!(kept.len(), 1, "{:?}", kept.keys());
        let b = &kept[&b"b"[..]];
        assert!(b[0].is_none());
        assert_eq!(&*b[1].as_ref().unwrap().1, b"right b");
    }

    #[test]
    fn budget_bounds_waiting_bytes() {
        let k = Keeper::new(Budgets {
            waiting: 4,
            ..budgets(1 << 20)
        });
        k.offer(Side::Left, b"a", d(1), b"12345"); // over budget: not held
        k.offer(Side::Right, b"a", d(2), b"abcde");
        let kept = k.into_kept();
        let a = &kept[&b"a"[..]];
        assert!(a[0].is_none(), "left content was over budget");
        assert_eq!(&*a[1].as_ref().unwrap().1, b"abcde");
    }
}
