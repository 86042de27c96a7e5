//! Reading memory-mapped files without copies. The reader hands the pages it has passed
//! back to the kernel as it goes, so a large plain tar does not sit in the resident set.

use std::io::{self, BufRead, Read};
use std::sync::Arc;

use memmap2::Mmap;

/// Reads `map[start..end]`.
pub struct MmapReader {
    map: Arc<Mmap>,
    pos: usize,
    end: usize,
    released: usize,
}

impl MmapReader {
    const RELEASE_EVERY: usize = 8 << 20;
    const PAGE: usize = 4096;

    /// The whole map.
    pub fn new(map: Arc<Mmap>) -> Self {
        let end = map.len();
        Self::range(map, 0, end)
    }

    /// A byte range of the map (clamped to it).
    pub fn range(map: Arc<Mmap>, start: usize, end: usize) -> Self {
        let end = end.min(map.len());
        let start = start.min(end);
        let _ = map.advise_range(memmap2::Advice::Sequential, start, end - start);
        MmapReader {
            map,
            pos: start,
            end,
            released: start.div_ceil(Self::PAGE) * Self::PAGE,
        }
    }
}

impl Read for MmapReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (&self.map[self.pos..self.end]).read(buf)?;
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for MmapReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        Ok(&self.map[self.pos..self.end])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.end);
        if self.pos >= self.released + Self::RELEASE_EVERY {
            let upto = self.pos / Self::PAGE * Self::PAGE;
            // SAFETY: the range lies inside the map and behind the read position; the map
            // is a private read-only file mapping, so dropping its pages only makes a later
            // access read them from the file again.
            let _ = unsafe {
                self.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    self.released,
                    upto - self.released,
                )
            };
            self.released = upto;
        }
    }
}
