//! The producer's delivery batch: one report cell per queued record, its address the record's
//! librdkafka opaque, filled by the delivery callback on librdkafka's thread and read once the
//! whole batch is in, so `send_many` pays one wake-up per batch instead of one per record.
//! The unsafe code is here alone: a cell is written by exactly one callback and read by
//! [`DeliveryBatch::wait`] only after every report arrived, and each queued record holds a strong
//! count of its chunk until its report is in (a batch dropped early leaves nothing dangling).

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};

/// The outcome of one delivery report: (partition, offset, timestamp) or the error.
pub(crate) type Outcome = Result<(i32, i64, Option<i64>)>;

struct Waiter {
    remaining: AtomicUsize,
    notify: tokio::sync::Notify,
}

/// One queued record's delivery report cell. Its address is the record's librdkafka opaque.
struct Cell {
    /// Written once by the delivery callback before it decrements `remaining`; read (taken)
    /// by [`DeliveryBatch::wait`] only after `remaining` reached 0.
    outcome: UnsafeCell<Option<Outcome>>,
    /// The chunk holding this cell (kept alive by one strong count per queued record).
    chunk: *const Chunk,
}

// SAFETY: `outcome` is accessed by exactly one thread at a time, ordered by `remaining`
// (see the field comment); `chunk` is only read.
unsafe impl Send for Cell {}
unsafe impl Sync for Cell {}

/// Report cells allocated together: one allocation per chunk instead of one per record.
struct Chunk {
    cells: Box<[Cell]>,
    waiter: Arc<Waiter>,
}

impl Chunk {
    fn new(size: usize, waiter: Arc<Waiter>) -> Arc<Chunk> {
        Arc::new_cyclic(|me| Chunk {
            cells: (0..size)
                .map(|_| Cell { outcome: UnsafeCell::new(None), chunk: me.as_ptr() })
                .collect(),
            waiter,
        })
    }
}

/// Cells per chunk at most (a `send_many` of more records takes several chunks).
const CHUNK_CELLS: usize = 4096;

/// Records queued together, awaited together: one wake-up for the whole batch instead of one
/// per record. Every queued record's report lands in its cell, success or error (a producer
/// dropped with records in flight purges them, which reports errors too). Each queued record
/// holds a strong count of its chunk until its report is in, so a batch dropped before its
/// reports arrive leaves nothing dangling.
pub struct DeliveryBatch {
    waiter: Arc<Waiter>,
    chunks: Vec<Arc<Chunk>>,
    len: usize,
    /// Cells of the last chunk handed out.
    used_in_last: usize,
    /// Cells the next chunk gets.
    next_chunk: usize,
}

impl Default for DeliveryBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl DeliveryBatch {
    /// An empty batch.
    pub fn new() -> Self {
        DeliveryBatch {
            waiter: Arc::new(Waiter {
                remaining: AtomicUsize::new(0),
                notify: tokio::sync::Notify::new(),
            }),
            chunks: Vec::new(),
            len: 0,
            used_in_last: 0,
            next_chunk: 1,
        }
    }

    /// Number of records queued in the batch.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no record was queued in the batch.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The next cell's opaque (its address), with a strong count of its chunk taken for the
    /// report callback.
    pub(crate) fn slot(&mut self) -> usize {
        if self.chunks.last().is_none_or(|c| self.used_in_last == c.cells.len()) {
            self.chunks
                .push(Chunk::new(self.next_chunk.clamp(1, CHUNK_CELLS), self.waiter.clone()));
            self.next_chunk = CHUNK_CELLS;
            self.used_in_last = 0;
        }
        let last = self.chunks.last().expect("a chunk with room");
        let cell = &last.cells[self.used_in_last];
        self.used_in_last += 1;
        self.len += 1;
        self.waiter.remaining.fetch_add(1, Ordering::AcqRel);
        // SAFETY: `last` is a live Arc; the count is given back by `report` or `unqueued`.
        unsafe { Arc::increment_strong_count(Arc::as_ptr(last)) };
        cell as *const Cell as usize
    }

    /// The last slot's record was never queued (the send itself failed).
    pub(crate) fn unqueued(&mut self, opaque: usize) {
        self.len -= 1;
        self.used_in_last -= 1;
        self.waiter.remaining.fetch_sub(1, Ordering::AcqRel);
        // SAFETY: `opaque` came from `slot` and was not handed to librdkafka.
        unsafe { Arc::decrement_strong_count((*(opaque as *const Cell)).chunk) };
    }

    /// Reserves room for `n` more records (sizes the next chunk).
    pub fn reserve(&mut self, n: usize) {
        self.next_chunk = n.max(1);
    }

    /// Waits for every report; outcomes in queueing order.
    pub async fn wait(self) -> Vec<Result<(i32, i64, Option<i64>)>> {
        loop {
            let notified = self.waiter.notify.notified();
            if self.waiter.remaining.load(Ordering::Acquire) == 0 {
                break;
            }
            notified.await;
        }
        let mut out = Vec::with_capacity(self.len);
        for cell in self.chunks.iter().flat_map(|c| c.cells.iter()).take(self.len) {
            // SAFETY: `remaining` is 0 (Acquire), so every report was written and no callback
            // touches this cell again.
            let outcome = unsafe { (*cell.outcome.get()).take() };
            out.push(outcome.unwrap_or_else(|| {
                Err(Error::Internal { reason: "delivery report missing".into() })
            }));
        }
        out
    }
}

/// Stores one delivery report in the cell `opaque` points at and wakes the batch when it was
/// the last one.
///
/// # Safety
/// `opaque` must come from [`DeliveryBatch::slot`] for a record librdkafka queued, and each
/// such record is reported exactly once.
pub(crate) unsafe fn report(opaque: usize, outcome: Outcome) {
    // SAFETY: `opaque` is a cell of a chunk that is still alive: its record holds a strong
    // count of the chunk until the decrement below (caller's contract).
    let cell = unsafe { &*(opaque as *const Cell) };
    let chunk = cell.chunk;
    // SAFETY: the only write to this cell, before `remaining` is decremented (Release), and
    // `wait` reads it only after seeing `remaining` at 0 (Acquire).
    unsafe { *cell.outcome.get() = Some(outcome) };
    // SAFETY: the chunk is alive (see above).
    let waiter = unsafe { &(*chunk).waiter };
    if waiter.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
        waiter.notify.notify_one();
    }
    // SAFETY: gives back the count `slot` took for this record; nothing here touches the
    // chunk afterwards.
    unsafe { Arc::decrement_strong_count(chunk) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(i: usize) -> Outcome {
        Ok((0, i as i64, None))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reports_from_other_threads_come_back_in_queueing_order() {
        let mut b = DeliveryBatch::new();
        b.reserve(10);
        let slots: Vec<usize> = (0..10).map(|_| b.slot()).collect();
        assert_eq!(b.len(), 10);
        // reports arrive out of order, from another thread
        let t = std::thread::spawn(move || {
            for (i, s) in slots.iter().enumerate().rev() {
                // SAFETY: each slot is reported once, as librdkafka would.
                unsafe { report(*s, ok(i)) };
            }
        });
        let out = b.wait().await;
        t.join().unwrap();
        let offsets: Vec<i64> = out.into_iter().map(|r| r.unwrap().1).collect();
        assert_eq!(offsets, (0..10).collect::<Vec<i64>>());
    }

    #[tokio::test]
    async fn an_unqueued_slot_is_given_back_and_errors_are_kept() {
        let mut b = DeliveryBatch::new();
        let a = b.slot();
        let gone = b.slot();
        b.unqueued(gone);
        let c = b.slot();
        assert_eq!(b.len(), 2);
        // SAFETY: reported once each.
        unsafe {
            report(a, ok(1));
            report(c, Err(Error::KafkaTimeout { reason: "late".into() }));
        }
        let out = b.wait().await;
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].as_ref().unwrap().1, 1);
        assert_eq!(out[1].as_ref().unwrap_err().code(), "kafka.timeout");
    }

    #[tokio::test]
    async fn batches_larger_than_a_chunk_and_empty_ones() {
        assert!(DeliveryBatch::new().wait().await.is_empty());
        let mut b = DeliveryBatch::new();
        b.reserve(3);
        let n = CHUNK_CELLS + 10;
        let slots: Vec<usize> = (0..n).map(|_| b.slot()).collect();
        assert!(b.chunks.len() >= 2, "more records than one chunk holds");
        for (i, s) in slots.into_iter().enumerate() {
            // SAFETY: reported once each.
            unsafe { report(s, ok(i)) };
        }
        let out = b.wait().await;
        assert_eq!(out.len(), n);
        assert!(out.iter().enumerate().all(|(i, r)| r.as_ref().unwrap().1 == i as i64));
    }

    #[test]
    fn reports_after_the_batch_was_dropped_leave_nothing_dangling() {
        let mut b = DeliveryBatch::new();
        let slots: Vec<usize> = (0..3).map(|_| b.slot()).collect();
        let chunk = Arc::downgrade(&b.chunks[0]);
        drop(b);
        assert!(chunk.upgrade().is_some(), "queued records keep their chunk alive");
        for s in slots {
            // SAFETY: reported once each; the chunk is alive until the last report.
            unsafe { report(s, ok(0)) };
        }
        assert!(chunk.upgrade().is_none(), "the last report freed the chunk");
    }
}
